"""Users, their roles, their API tokens, and deactivation (people with a record are never deleted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from common.errors import DomainError, NotFound
from labeling.models import Assignment, AssignmentStatus, Profile, Role

from .assignment import assignment_release
from .token_cache import token_cache


def user_role(user: User | AnonymousUser) -> str:
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else Role.LABELER


def is_researcher(user: User | AnonymousUser) -> bool:
    return user_role(user) in {Role.RESEARCHER, Role.ADMIN}


def is_admin(user: User | AnonymousUser) -> bool:
    return user_role(user) == Role.ADMIN


def command_user_resolve(*, username: str | None, env_username: str | None, os_username: str | None) -> User:
    """The account a command-line action is recorded under: --user, else $ARBITER_USER, else the OS user when
    an account of that name exists. Only researchers and admins act on rounds; anything else is a DomainError
    that says which name was tried and how to choose another."""
    for name, source in ((username, "--user"), (env_username, "$ARBITER_USER")):
        if name:
            user = User.objects.filter(username=name).first()
            if user is None:
                raise DomainError(f"No account {name!r} (from {source}); pass --user with an existing username.")
            break
    else:
        user = User.objects.filter(username=os_username).first() if os_username else None
        if user is None:
            raise DomainError(
                f"Who is acting? No account matches the OS user {os_username!r}; pass --user USERNAME or set "
                "ARBITER_USER (the round and its exports record that user)."
            )
        source = f"the OS user {os_username!r}"
    if not user.is_active:
        raise DomainError(f"The account {user.username!r} (from {source}) is deactivated.")
    if not is_researcher(user):
        raise DomainError(
            f"{user.username!r} (from {source}) is a {user_role(user)}; rounds need a researcher or admin."
        )
    return user


def check_password_strength(*, password: str, user: User | None = None) -> None:
    """Django's AUTH_PASSWORD_VALIDATORS (similarity, length, common, numeric) as one DomainError."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        message = "The password is too weak: " + " ".join(exc.messages)
        raise DomainError(message, errors={"password": exc.messages}) from exc


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "") -> User:
    """Create a user with a role; admins are also Django staff/superusers so Django admin works.
    No API token is made here: `token_create` makes one and returns its key, once."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if not username:
        raise DomainError("A username is required.")
    if User.objects.filter(username=username).exists():
        raise DomainError(f"User {username!r} already exists.")
    check_password_strength(password=password, user=User(username=username, email=email))
    is_admin_role = role == Role.ADMIN
    user = User.objects.create_user(
        username=username, password=password, email=email, is_staff=is_admin_role, is_superuser=is_admin_role
    )
    Profile.objects.create(user=user, role=role)
    return user


@dataclass(frozen=True)
class IssuedToken:
    """A new API token. `key` exists only here: the database keeps its SHA-512 digest."""

    key: str
    token_key: str  # the first characters, kept in clear to name the token when listing or revoking
    created: datetime
    expiry: datetime | None


def token_create(*, user: User) -> IssuedToken:
    """A new revocable token that expires after REST_KNOX["TOKEN_TTL"]; the key cannot be shown again."""
    if not user.is_active:
        raise DomainError("Inactive users cannot get API tokens.")
    instance, key = AuthToken.objects.create(user=user)
    return IssuedToken(key=key, token_key=instance.token_key, created=instance.created, expiry=instance.expiry)


def token_user(*, key: str) -> User | None:
    """The user a token key belongs to (None if no such token): for scripts that hold keys, not for requests."""
    digest = hash_token(key)
    token = AuthToken.objects.filter(digest=digest).select_related("user").first()
    return token.user if token is not None else None


def tokens_of(*, user: User):
    return AuthToken.objects.filter(user=user).order_by("-created")


def tokens_expired_purge(*, kept_for: timedelta, now: datetime | None = None) -> int:
    """Delete the API tokens that expired more than `kept_for` ago (until then a user still sees that a token
    of theirs expired); returns how many went. Knox purges only on a user's own requests, which the labeling hot
    path skips, so the beat schedule runs this."""
    cutoff = (now or timezone.now()) - kept_for
    purged, _ = AuthToken.objects.filter(expiry__isnull=False, expiry__lt=cutoff).delete()
    return purged


def token_revoke(*, user: User, token_key: str) -> int:
    """Revoke the user's tokens that start with `token_key`; NotFound if none does."""
    revoked, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if not revoked:
        raise NotFound(f"No token {token_key!r} of yours.")
    token_cache.forget_user(user.pk)
    return revoked


def user_has_record(*, user: User) -> bool:
    """Whether deleting the user would lose data: leases, judgments, flags or exclusions point at them."""
    return user.assignments.exists() or user.comparisons.exists() or user.flags.exists() or user.exclusions.exists()


@dataclass(frozen=True)
class Deactivation:
    leases_released: int
    tokens_revoked: int


def user_deactivate(*, user: User, by: User | None = None) -> Deactivation:
    """Stop a user from logging in or using the API while keeping every judgment, flag and exclusion.

    Their open leases go back to the pool with the pairs' leased_count corrected (each lease, then its pair, is
    locked as every writer does), and their API tokens are revoked. `by` (the admin acting) may not be `user`.
    """
    if by is not None and by.pk == user.pk:
        raise DomainError("You cannot deactivate your own account.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        open_leases = list(Assignment.objects.filter(labeler=user, status=AssignmentStatus.OPEN).order_by("id"))
        for lease in open_leases:
            assignment_release(assignment=lease)
        revoked, _ = AuthToken.objects.filter(user=user).delete()
    token_cache.forget_user(user.pk)
    return Deactivation(leases_released=len(open_leases), tokens_revoked=revoked)
