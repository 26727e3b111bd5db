"""Judgments: canonical order despite display order, validation without side effects, immutable revisions."""

import pytest

from common.errors import AlreadySubmitted, DomainError, NotFound
from labeling.models import Assignment, AssignmentStatus, Comparison, Pair, PairFlag
from labeling.services.assignment import assignment_next
from labeling.services.judgments import Judgment, assignment_flag, comparison_revise, comparison_submit

pytestmark = pytest.mark.django_db


def lease(project, labeler, swapped: bool):
    return assignment_next(project=project, labeler=labeler, rng_uniform=lambda: 0.99, rng_coin=lambda: swapped)


@pytest.mark.parametrize(
    ("swapped", "shown", "confidence", "canonical", "canonical_confidence"),
    [(False, "a", 2, "a", 2), (True, "a", 2, "b", 8), (True, "b", 9, "a", 1), (True, "tie", 5, "tie", 5)],
)
def test_choice_and_confidence_are_stored_in_canonical_order(
    make_project, labeler, swapped, shown, confidence, canonical, canonical_confidence
):
    project = make_project(pairs=1, gold_rate=0)
    assignment = lease(project, labeler, swapped)
    comparison = comparison_submit(
        assignment_id=assignment.id, labeler=labeler, judgment=Judgment(choice=shown, confidence=confidence)
    )
    assert (comparison.choice, comparison.confidence) == (canonical, canonical_confidence)
    assert (comparison.shown_choice, comparison.shown_confidence) == (shown, confidence)


@pytest.mark.parametrize(
    "judgment",
    [
        Judgment(choice="a", confidence=10),
        Judgment(choice="a", confidence=0),
        Judgment(choice="a", confidence=8),
        Judgment(choice="sideways"),
        Judgment(choice="a", time_spent_ms=-1),
    ],
)
def test_invalid_judgments_are_rejected_without_side_effects(make_project, labeler, judgment):
    project = make_project(pairs=1, gold_rate=0)
    assignment = lease(project, labeler, False)
    with pytest.raises(DomainError):
        comparison_submit(assignment_id=assignment.id, labeler=labeler, judgment=judgment)
    assert Comparison.objects.count() == 0
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.OPEN
    assert Pair.objects.get(id=assignment.pair_id).submitted_count == 0


def test_project_settings_forbid_tie_and_both_bad(make_project, labeler):
    project = make_project(pairs=1, gold_rate=0, allow_tie=False, allow_both_bad=False)
    assignment = lease(project, labeler, False)
    for choice in ("tie", "both_bad"):
        with pytest.raises(DomainError, match="does not allow"):
            comparison_submit(assignment_id=assignment.id, labeler=labeler, judgment=Judgment(choice=choice))


def test_double_submit_and_foreign_assignment_are_rejected(make_project, make_user):
    owner, stranger = make_user(), make_user()
    project = make_project(pairs=1, gold_rate=0)
    assignment = lease(project, owner, False)
    with pytest.raises(NotFound):
        comparison_submit(assignment_id=assignment.id, labeler=stranger, judgment=Judgment(choice="a"))
    comparison_submit(assignment_id=assignment.id, labeler=owner, judgment=Judgment(choice="a"))
    with pytest.raises(AlreadySubmitted):
        comparison_submit(assignment_id=assignment.id, labeler=owner, judgment=Judgment(choice="b"))
    assert Comparison.objects.count() == 1
    assert Pair.objects.get(id=assignment.pair_id).submitted_count == 1


def test_revisions_keep_the_old_row(make_project, labeler):
    project = make_project(pairs=1, gold_rate=0)
    assignment = lease(project, labeler, True)
    first = comparison_submit(assignment_id=assignment.id, labeler=labeler, judgment=Judgment(choice="a"))
    second = comparison_revise(
        comparison_id=first.id, labeler=labeler, judgment=Judgment(choice="b", rationale="misread")
    )
    first.refresh_from_db()
    assert (first.choice, first.is_current) == ("b", False)
    assert (second.choice, second.revision, second.supersedes_id, second.is_current) == ("a", 2, first.id, True)
    with pytest.raises(ValueError, match="immutable"):
        second.rationale = "changed"
        second.save()
    assert Pair.objects.get(id=assignment.pair_id).submitted_count == 1


def test_flagging_closes_the_lease_and_records_the_reason(make_project, labeler):
    project = make_project(pairs=2, gold_rate=0)
    assignment = lease(project, labeler, False)
    with pytest.raises(DomainError, match="Say what is wrong"):
        assignment_flag(assignment_id=assignment.id, labeler=labeler, reason="other")
    flag = assignment_flag(assignment_id=assignment.id, labeler=labeler, reason="broken", note="cut off")
    assert PairFlag.objects.get(id=flag.id).reason == "broken"
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.FLAGGED
    assert Pair.objects.get(id=assignment.pair_id).leased_count == 0
