"""Reading what an export covers: one streamed, filtered query of judgments, grouped by pair."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone

from django.db.models import Q, QuerySet
from django.utils import timezone as dj_timezone

from labeling.models import Comparison, PairFlag, Project
from labeling.services.exclusions import excluded_labeler_ids

from .aggregate import JudgmentRecord, PairInfo
from .options import ExportRequest

CHUNK_SIZE = 5_000
_FIELDS = (
    "pair_id", "pair__prompt_id", "pair__prompt__text", "pair__prompt__content_hash",
    "pair__sample_a__text", "pair__sample_b__text", "pair__sample_a__policy__name", "pair__sample_b__policy__name",
    "pair__batch", "pair__is_gold",
    "id", "labeler_id", "choice", "confidence", "shown_choice", "shown_confidence", "assignment__swapped",
    "time_spent_ms", "revision", "is_current", "created_at",
)  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if dj_timezone.is_aware(moment) else moment.replace(tzinfo=timezone.utc)


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
    if not request.include_excluded_labelers:
        excluded = excluded_labeler_ids(project)
        if excluded:
            qs = qs.exclude(labeler_id__in=excluded)
    return qs


def judgment_groups(
    qs: QuerySet[Comparison], *, with_rationale: bool = False, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[PairInfo, list[JudgmentRecord]]]:
    """Stream (pair, its judgments) in pair order through a server-side cursor; memory holds one chunk."""
    fields = _FIELDS + (("rationale",) if with_rationale else ())
    rows = qs.order_by("pair_id", "id").values_list(*fields).iterator(chunk_size=chunk_size)
    pair: PairInfo | None = None
    judgments: list[JudgmentRecord] = []
    for r in rows:
        if pair is None or r[0] != pair.pair_id:
            if pair is not None:
                yield pair, judgments
            pair = PairInfo(
                pair_id=r[0], prompt_id=r[1], prompt=r[2], prompt_hash=r[3], text_a=r[4], text_b=r[5],
                policy_a=r[6], policy_b=r[7], batch=r[8], is_gold=r[9],
            )  # fmt: skip
            judgments = []
        judgments.append(JudgmentRecord(
            comparison_id=r[10], labeler_id=r[11], choice=r[12], confidence=r[13], shown_choice=r[14],
            shown_confidence=r[15], swapped=r[16], time_spent_ms=r[17], revision=r[18], is_current=r[19],
            created_at=r[20], rationale=r[21] if with_rationale else "",
        ))  # fmt: skip
    if pair is not None:
        yield pair, judgments


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
