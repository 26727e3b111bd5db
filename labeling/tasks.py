"""Background jobs of the labeling domain."""

from celery import shared_task

from labeling.services.assignment import assignments_expire_stale


@shared_task(name="labeling.expire_stale_leases")
def expire_stale_leases() -> int:
    """Return expired leases to the pool (also done lazily on every next-pair request)."""
    return assignments_expire_stale()
