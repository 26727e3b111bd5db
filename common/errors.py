"""Domain errors: raised by services, turned into JSON responses by the API and messages by commands."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class Forbidden(DomainError):
    http_status = 403
    code = "forbidden"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"


class LeaseExpired(Conflict):
    code = "lease_expired"


class AlreadySubmitted(Conflict):
    code = "already_submitted"


class TooManyLeases(Conflict):
    code = "too_many_leases"


class ProjectArchived(Conflict):
    code = "project_archived"


class QueueEmpty(DomainError):
    http_status = 404
    code = "queue_empty"


class BrokerUnavailable(DomainError):
    """The task queue cannot be reached: the job's row is kept, marked so, and can be retried."""

    http_status = 503
    code = "broker_unavailable"
