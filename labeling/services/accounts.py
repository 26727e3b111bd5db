"""Users and their roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from common.errors import DomainError
from labeling.models import Profile, Role

User = get_user_model()


def user_role(user: AbstractBaseUser) -> str:
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else Role.LABELER


def is_researcher(user: AbstractBaseUser) -> bool:
    return user_role(user) in {Role.RESEARCHER, Role.ADMIN}


def is_admin(user: AbstractBaseUser) -> bool:
    return user_role(user) == Role.ADMIN


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "") -> AbstractBaseUser:
    """Create a user with a role; admins are also Django staff/superusers so Django admin works."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if not username:
        raise DomainError("A username is required.")
    if User.objects.filter(username=username).exists():
        raise DomainError(f"User {username!r} already exists.")
    if len(password) < 8:
        raise DomainError("The password must be at least 8 characters long.")
    is_admin_role = role == Role.ADMIN
    user = User.objects.create_user(
        username=username, password=password, email=email, is_staff=is_admin_role, is_superuser=is_admin_role
    )
    Profile.objects.create(user=user, role=role)
    Token.objects.create(user=user)
    return user


def user_token(*, user: AbstractBaseUser) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
