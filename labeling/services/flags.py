"""Researchers resolve flagged pairs: dismiss the flags (the pair is fine) or exclude the pair from exports."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from common import clock
from common.errors import DomainError, NotFound
from labeling.models import FlagResolution, Pair, PairFlag


def check_flag_resolution(*, resolution: str, note: str) -> None:
    if resolution not in FlagResolution.values:
        raise DomainError(f"Unknown resolution {resolution!r}; expected one of {', '.join(FlagResolution.values)}.")
    if resolution == FlagResolution.EXCLUDED and not note.strip():
        raise DomainError("Say why the pair is excluded in the note.", errors={"note": ["Required to exclude."]})


@transaction.atomic
def pair_flags_resolve(
    *, pair: Pair, resolution: str, note: str, resolved_by: User, now: datetime | None = None
) -> int:
    """Resolve every open flag on the pair the same way; returns how many. Exports leave out a pair with an
    open flag, or one whose flags were resolved as excluded."""
    check_flag_resolution(resolution=resolution, note=note)
    open_flags = PairFlag.objects.select_for_update().filter(pair=pair, resolved_at__isnull=True)
    ids = list(open_flags.values_list("id", flat=True))
    if not ids:
        raise NotFound("This pair has no open flags.")
    return PairFlag.objects.filter(id__in=ids).update(
        resolved_at=now or clock.now(), resolved_by=resolved_by, resolution=resolution, resolution_note=note.strip()
    )
