"""Background jobs of the labeling domain."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from labeling.services.accounts import tokens_expired_purge
from labeling.services.assignment import assignments_expire_stale


@shared_task(name="labeling.expire_stale_leases")
def expire_stale_leases() -> int:
    """Return expired leases to the pool (also done lazily on every next-pair request)."""
    return assignments_expire_stale()


@shared_task(name="labeling.purge_expired_tokens")
def purge_expired_tokens() -> int:
    """Delete API tokens expired for longer than ARBITER_EXPIRED_TOKEN_KEEP_DAYS."""
    return tokens_expired_purge(kept_for=timedelta(days=settings.ARBITER["EXPIRED_TOKEN_KEEP_DAYS"]))
