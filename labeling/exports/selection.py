"""Reading what an export covers: one streamed, filtered query of judgments, grouped by pair."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone as dj_timezone

from labeling.models import Comparison, Pair, PairFlag, Project
from labeling.services.exclusions import excluded_labeler_ids

from .aggregate import JudgmentRecord, PairInfo
from .options import ExportRequest

CHUNK_SIZE = 5_000
_PAIR_FIELDS = (
    "id", "prompt_id", "prompt__text", "prompt__content_hash", "sample_a__text", "sample_b__text",
    "sample_a__policy__name", "sample_b__policy__name", "batch", "is_gold", "prompt__metadata",
)  # fmt: skip
_JUDGMENT_FIELDS = ("pair_id", "id", "labeler_id", "choice", "confidence")
# Only the raw format needs these; converting timestamps alone costs more than the rest of the row.
_DETAIL_FIELDS = (
    "shown_choice", "shown_confidence", "assignment__swapped", "time_spent_ms", "revision", "is_current",
    "created_at", "rationale",
)  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if dj_timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def comparisons_selected(*, project: Project, request: ExportRequest) -> QuerySet[Comparison]:
    """The comparisons an export reads, before per-pair aggregation (which applies agreement and tie rules)."""
    qs = Comparison.objects.filter(pair__project=project)
    if not request.all_revisions:
        qs = qs.filter(is_current=True)
    if request.batches:
        qs = qs.filter(pair__batch__in=request.batches)
    if request.policies:
        qs = qs.filter(
            Q(pair__sample_a__policy__name__in=request.policies) | Q(pair__sample_b__policy__name__in=request.policies)
        )
    if request.since:
        qs = qs.filter(created_at__gte=_aware(request.since))
    if request.until:
        qs = qs.filter(created_at__lt=_aware(request.until))
    if not request.include_gold:
        qs = qs.filter(pair__is_gold=False)
    if not request.include_flagged:
        flagged = PairFlag.objects.filter(pair__project=project, resolved_at__isnull=True).values("pair_id")
        qs = qs.exclude(pair_id__in=flagged)
    # A researcher who resolved a flag by excluding the pair meant it for good (labeling/services/flags.py).
    excluded_pairs = PairFlag.objects.filter(pair__project=project, resolution="excluded").values("pair_id")
    qs = qs.exclude(pair_id__in=excluded_pairs)
    if not request.include_excluded_labelers:
        excluded = excluded_labeler_ids(project)
        if excluded:
            qs = qs.exclude(labeler_id__in=excluded)
    return qs


def judgment_groups(
    qs: QuerySet[Comparison], *, detailed: bool = False, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[PairInfo, list[JudgmentRecord]]]:
    """Stream (pair, its judgments) in pair order; memory holds one chunk of each cursor.

    Two server-side cursors, both in pair order, merged here: narrow judgment rows, and each selected pair's texts
    once (rather than riding along every judgment row).
    """
    fields = _JUDGMENT_FIELDS + (_DETAIL_FIELDS if detailed else ())
    rows = qs.order_by("pair_id", "id").values_list(*fields).iterator(chunk_size=chunk_size)
    pairs = (
        Pair.objects.filter(id__in=qs.values("pair_id")).order_by("id").values_list(*_PAIR_FIELDS)
        .iterator(chunk_size=chunk_size)
    )  # fmt: skip
    pair: PairInfo | None = None
    judgments: list[JudgmentRecord] = []
    for r in rows:
        if pair is None or r[0] != pair.pair_id:
            if pair is not None:
                yield pair, judgments
            pair = _next_pair(pairs, r[0])
            judgments = []
        if detailed:
            judgments.append(JudgmentRecord(
                comparison_id=r[1], labeler_id=r[2], choice=r[3], confidence=r[4], shown_choice=r[5],
                shown_confidence=r[6], swapped=r[7], time_spent_ms=r[8], revision=r[9], is_current=r[10],
                created_at=r[11], rationale=r[12],
            ))  # fmt: skip
        else:  # positional: this line runs once per judgment of a million-row export
            judgments.append(JudgmentRecord(r[1], r[2], r[3], r[4], "", None, False, 0, 0, True, None))
    if pair is not None:
        yield pair, judgments


def _next_pair(pairs: Iterator[tuple], pair_id: int) -> PairInfo:
    for r in pairs:
        if r[0] == pair_id:
            return PairInfo(
                pair_id=r[0], prompt_id=r[1], prompt=r[2], prompt_hash=r[3], text_a=r[4], text_b=r[5],
                policy_a=r[6], policy_b=r[7], batch=r[8], is_gold=r[9], prompt_metadata=r[10],
            )  # fmt: skip
    raise RuntimeError(f"pair {pair_id} vanished while it was being exported")


def pair_flags(*, project: Project, pseudonym) -> dict[int, list[dict]]:
    """Flags per pair for the raw format (flags are rare, so they fit in memory)."""
    flags: dict[int, list[dict]] = defaultdict(list)
    for pair_id, labeler_id, reason, resolved_at in (
        PairFlag.objects.filter(pair__project=project)
        .order_by("pair_id", "id")
        .values_list("pair_id", "labeler_id", "reason", "resolved_at")
        .iterator(chunk_size=CHUNK_SIZE)
    ):
        flags[pair_id].append({"worker": pseudonym(labeler_id), "reason": reason, "resolved": resolved_at is not None})
    return flags
