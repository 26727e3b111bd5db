"""Writing pair rows: the one place that decides whether a pair of samples already exists.

A pair is a comparison of two samples; (a, b) and (b, a) are the same comparison (display order is chosen per
assignment), so a pair that exists in either order is not written again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from labeling.models import Pair, Project


@dataclass(frozen=True)
class PairRow:
    """A pair to write: two distinct samples of one prompt in canonical order."""

    prompt_id: int
    sample_a_id: int
    sample_b_id: int
    batch: str = ""
    gold_choice: str = ""
    """Canonical answer of a gold pair ("a", "b" or "tie"); empty for an ordinary pair."""

    @property
    def key(self) -> frozenset[int]:
        return frozenset((self.sample_a_id, self.sample_b_id))


def pairs_create(*, project: Project, rows: Iterable[PairRow]) -> list[PairRow]:
    """Write the rows whose two samples are not paired yet in the project, in either order; of rows naming
    the same two samples only the first is written. Returns the rows written, in input order."""
    rows = list(rows)
    for row in rows:
        if row.sample_a_id == row.sample_b_id:
            raise ValueError(f"a pair needs two distinct samples, got sample {row.sample_a_id} twice")
    if not rows:
        return []
    sample_ids = {i for row in rows for i in row.key}
    with transaction.atomic():
        seen = {
            frozenset(ids)
            for ids in Pair.objects.filter(project=project)
            .filter(Q(sample_a_id__in=sample_ids) | Q(sample_b_id__in=sample_ids))
            .values_list("sample_a_id", "sample_b_id")
        }
        new: list[PairRow] = []
        for row in rows:
            if row.key not in seen:
                seen.add(row.key)
                new.append(row)
        Pair.objects.bulk_create(
            [
                Pair(
                    project=project,
                    prompt_id=row.prompt_id,
                    sample_a_id=row.sample_a_id,
                    sample_b_id=row.sample_b_id,
                    is_gold=bool(row.gold_choice),
                    gold_choice=row.gold_choice,
                    batch=row.batch,
                )
                for row in new
            ],
            batch_size=2000,
        )
    return new
