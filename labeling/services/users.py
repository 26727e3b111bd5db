"""Admins manage accounts: an overview of users, password resets, roles, and deactivation (never deletion of
someone who has labeled: their judgments and flags are the project's record)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from common.errors import DomainError
from labeling.models import Profile, Role

from .accounts import user_role


@dataclass(frozen=True)
class UserRow:
    user: User
    role: str
    projects: list[str]
    judgments: int


def users_overview() -> list[UserRow]:
    users = (
        User.objects.select_related("profile")
        .prefetch_related("memberships__project")
        .annotate(judgments=Count("comparisons", distinct=True))
        .order_by("-is_active", "username")
    )
    return [
        UserRow(
            user=user,
            role=user_role(user),
            projects=sorted(m.project.slug for m in user.memberships.all()),
            judgments=user.judgments,
        )
        for user in users
    ]


def user_password_reset(*, user: User, password: str) -> None:
    """Set a new password after Django's configured validators; the user's other sessions keep working until
    they log out (Django rotates the session hash of the one that changed it only)."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), errors={"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])


@transaction.atomic
def user_role_set(*, user: User, role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    Profile.objects.update_or_create(user=user, defaults={"role": role})
    is_admin_role = role == Role.ADMIN
    User.objects.filter(id=user.id).update(is_staff=is_admin_role, is_superuser=is_admin_role)


def user_reactivate(*, user: User) -> None:
    User.objects.filter(id=user.id).update(is_active=True)
