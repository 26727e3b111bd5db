"""Pair rows are written in one place (labeling.services.pairs): a pair exists once, in either order."""

from __future__ import annotations

import pytest

from labeling.models import Pair, Policy, PolicyKind, Prompt, Sample
from labeling.services.imports import content_hash
from labeling.services.pairs import PairRow, pairs_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def samples(make_project):
    project = make_project(pairs=0)
    prompt = Prompt.objects.create(project=project, text="p", content_hash=content_hash("p"))
    policy = Policy.objects.create(project=project, name="pol", kind=PolicyKind.IMPORTED)
    rows = [Sample.objects.create(prompt=prompt, policy=policy, text=t, content_hash=content_hash(t)) for t in "abc"]
    return project, prompt, rows


def test_a_pair_is_written_once_in_either_order(samples):
    project, prompt, (a, b, c) = samples
    first = pairs_create(project=project, rows=[PairRow(prompt.id, a.id, b.id, batch="x", gold_choice="a")])
    assert first == [PairRow(prompt.id, a.id, b.id, batch="x", gold_choice="a")]
    again = pairs_create(
        project=project,
        rows=[
            PairRow(prompt.id, b.id, a.id, batch="y"),  # the same pair reversed: exists
            PairRow(prompt.id, a.id, c.id, batch="y"),
            PairRow(prompt.id, c.id, a.id, batch="y"),  # the row just before, reversed
        ],
    )
    assert again == [PairRow(prompt.id, a.id, c.id, batch="y")]
    stored = {
        (p.sample_a_id, p.sample_b_id, p.batch, p.is_gold, p.gold_choice) for p in Pair.objects.filter(project=project)
    }
    assert stored == {(a.id, b.id, "x", True, "a"), (a.id, c.id, "y", False, "")}


def test_a_sample_cannot_be_paired_with_itself(samples):
    project, prompt, (a, *_) = samples
    with pytest.raises(ValueError, match="two distinct samples"):
        pairs_create(project=project, rows=[PairRow(prompt.id, a.id, a.id)])
    assert not Pair.objects.filter(project=project).exists()
