"""Admins manage accounts: an overview of users, password resets, roles, and deactivation (never deletion of
someone who has labeled: their judgments and flags are the project's record)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from labeling.models import Assignment, AssignmentStatus, Profile, Role

from .accounts import user_role
from .assignment import assignment_release
from .errors import DomainError

User = get_user_model()


@dataclass(frozen=True)
class UserRow:
    user: AbstractBaseUser
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


def user_password_reset(*, user: AbstractBaseUser, password: str) -> None:
    """Set a new password after Django's configured validators; the user's other sessions keep working until
    they log out (Django rotates the session hash of the one that changed it only)."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), errors={"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])


@transaction.atomic
def user_role_set(*, user: AbstractBaseUser, role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    Profile.objects.update_or_create(user=user, defaults={"role": role})
    is_admin_role = role == Role.ADMIN
    User.objects.filter(id=user.id).update(is_staff=is_admin_role, is_superuser=is_admin_role)


def user_deactivate(*, user: AbstractBaseUser, by: AbstractBaseUser) -> int:
    """Block the account from logging in and hand its open leases back (counters corrected); nothing is deleted.
    Returns how many leases were released."""
    if user.pk == by.pk:
        raise DomainError("You cannot deactivate your own account.")
    User.objects.filter(id=user.id).update(is_active=False)
    released = 0
    for lease in Assignment.objects.filter(labeler=user, status=AssignmentStatus.OPEN):
        released += assignment_release(assignment=lease)
    return released


def user_reactivate(*, user: AbstractBaseUser) -> None:
    User.objects.filter(id=user.id).update(is_active=True)
