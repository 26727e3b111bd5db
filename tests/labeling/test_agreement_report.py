"""The project agreement report from PostgreSQL, checked against the reference packages on the canonical data."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import krippendorff
import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from common.errors import Conflict, DomainError, Forbidden, NotFound
from labeling.models import Assignment, Comparison, Pair, Role
from labeling.services import exclusions
from labeling.services.agreement_data import _load_values_list, comparison_arrays
from labeling.services.agreement_report import agreement_report_build
from labeling.services.imports import pairs_import
from labeling.services.judgments import Judgment, assignment_flag, assignment_skip, comparison_submit
from labeling.services.projects import project_add_member
from labeling.stats.choices import BOTH_BAD_CODE, CHOICE_CODES

SHOWN = {"a": "b", "b": "a", "tie": "tie", "both_bad": "both_bad"}
CODE = {"a": 0, "b": 1, "tie": 2}


def lease(pair: Pair, labeler, swapped: bool) -> Assignment:
    now = timezone.now()
    Pair.objects.filter(id=pair.id).update(leased_count=pair.leased_count + 1)
    pair.refresh_from_db()
    return Assignment.objects.create(
        pair=pair, labeler=labeler, swapped=swapped, created_at=now, expires_at=now + timezone.timedelta(hours=1)
    )


def judge(pair: Pair, labeler, choice: str, confidence: int | None, *, swapped: bool, time_ms: int = 1000):
    """Submit a canonical (choice, confidence) the way a labeler who saw the pair swapped would press it."""
    assignment = lease(pair, labeler, swapped)
    shown_choice = SHOWN[choice] if swapped else choice
    shown_conf = None if confidence is None else (10 - confidence if swapped else confidence)
    return comparison_submit(
        assignment_id=assignment.id,
        labeler=labeler,
        judgment=Judgment(choice=shown_choice, confidence=shown_conf, time_spent_ms=time_ms),
    )


def confidence_for(choice: str, rng) -> int:
    return {"a": int(rng.integers(1, 5)), "b": int(rng.integers(6, 10)), "tie": 5}[choice]


@pytest.fixture
def judged_project(make_user, make_project):
    """4 labelers × 30 pairs over 3 policies, missing judgments, random display order, one both-bad."""
    labelers = [make_user(Role.LABELER) for _ in range(4)]
    project = make_project(pairs=0, members=labelers)
    rng = np.random.default_rng(0)
    policies = ["alpha", "beta", "gamma"]
    lines = []
    for i in range(30):
        pa, pb = rng.choice(3, size=2, replace=False)
        lines.append(
            json.dumps(
                {
                    "prompt": f"prompt {i}",
                    "response_a": f"a{i}",
                    "response_b": f"b{i}",
                    "policy_a": policies[pa],
                    "policy_b": policies[pb],
                }
            )
        )
    pairs_import(project=project, lines=lines)
    pairs = list(Pair.objects.filter(project=project).order_by("id"))
    nominal = np.full((4, len(pairs)), np.nan)
    ordinal = np.full((4, len(pairs)), np.nan)
    for u, pair in enumerate(pairs):
        truth = rng.choice(["a", "b", "tie"], p=[0.5, 0.35, 0.15])
        for lab in range(4):
            if rng.random() < 0.25:
                continue
            choice = truth if rng.random() < 0.7 else rng.choice(["a", "b", "tie"])
            conf = confidence_for(choice, rng)
            judge(pair, labelers[lab], choice, conf, swapped=bool(rng.random() < 0.5), time_ms=1000 * (lab + 1))
            nominal[lab, u], ordinal[lab, u] = CODE[choice], conf
    judge(pairs[0], make_user(Role.LABELER), "both_bad", None, swapped=True)
    return project, labelers, pairs, nominal, ordinal


def coefficient(report, name: str, variable: str = "choice"):
    return next(c for c in report.coefficients if c.name == name and c.variable == variable)


def test_report_coefficients_match_reference_packages_on_canonical_choices(judged_project):
    project, _labelers, pairs, nominal, ordinal = judged_project
    report = agreement_report_build(project=project, n_resamples=200, seed=1)
    alpha = coefficient(report, "krippendorff_alpha")
    assert alpha.interval.estimate == pytest.approx(
        krippendorff.alpha(nominal, level_of_measurement="nominal"), abs=1e-9
    )
    assert alpha.interval.low < alpha.interval.estimate < alpha.interval.high
    ordinal_alpha = coefficient(report, "krippendorff_alpha", "confidence")
    assert ordinal_alpha.interval.estimate == pytest.approx(
        krippendorff.alpha(ordinal, level_of_measurement="ordinal", value_domain=list(range(1, 10))), abs=1e-9
    )
    counts = np.stack([(nominal == k).sum(axis=0) for k in range(3)], axis=1)
    modal = np.bincount(counts.sum(axis=1)[counts.sum(axis=1) >= 2]).argmax()
    fleiss = coefficient(report, "fleiss_kappa")
    assert fleiss.interval.estimate == pytest.approx(sm_fleiss_kappa(counts[counts.sum(axis=1) == modal]), abs=1e-9)
    assert report.n_both_bad == 1 and report.n_labelers == 5
    assert sum(report.consensus_levels.values()) == len(pairs)
    assert report.n_split_pairs == report.consensus_levels["split"]
    assert {p.name for p in report.ranking} == {"alpha", "beta", "gamma"}
    assert sum(p.n_comparisons for p in report.ranking) == 2 * int((~np.isnan(nominal)).sum())


def test_agreement_uses_the_canonical_order_not_what_labelers_saw(judged_project):
    """Half the displays were flipped: the pressed buttons disagree far more than the canonical choices."""
    project, labelers, pairs, nominal, _ = judged_project
    index = {p.id: u for u, p in enumerate(pairs)}
    shown = np.full_like(nominal, np.nan)
    for pair_id, labeler_id, choice in Comparison.objects.filter(
        pair__project=project, labeler__in=labelers
    ).values_list("pair_id", "labeler_id", "shown_choice"):
        shown[[u.id for u in labelers].index(labeler_id), index[pair_id]] = CODE[choice]
    report = agreement_report_build(project=project, n_resamples=0)
    canonical = coefficient(report, "krippendorff_alpha").interval.estimate
    assert canonical == pytest.approx(krippendorff.alpha(nominal, level_of_measurement="nominal"), abs=1e-9)
    assert krippendorff.alpha(shown, level_of_measurement="nominal") < canonical - 0.2


def test_binary_copy_and_values_list_paths_read_the_same_arrays(judged_project):
    project, *_ = judged_project
    fast = comparison_arrays(project=project)
    slow = _load_values_list(project)
    order = np.argsort(slow["pair_id"], kind="stable")
    for name, values in slow.items():
        assert np.array_equal(getattr(fast, name), values[order]), name
    # Both paths give each judgment the code of labeling.stats.choices.
    stored = Comparison.objects.filter(pair__project=project, is_current=True).values_list("pair_id", "choice")
    assert Counter(zip(fast.pair_id.tolist(), fast.choice.tolist())) == Counter(
        (pair_id, CHOICE_CODES[choice]) for pair_id, choice in stored
    )
    assert len(fast) > 0 and fast.choice.tolist().count(BOTH_BAD_CODE) == 1


def test_per_labeler_quality_and_review_marks(judged_project, make_user):
    project, labelers, _pairs, nominal, _ = judged_project
    report = agreement_report_build(project=project, n_resamples=0)
    rows = {r.labeler_id: r for r in report.labelers}
    for lab, user in enumerate(labelers):
        row = rows[user.id]
        assert row.n_judgments == int((~np.isnan(nominal[lab])).sum())
        assert row.median_time_ms == 1000 * (lab + 1)
        assert row.needs_review == (row.agreement is not None and row.agreement < project.review_threshold)
    lows = [r.agreement_low for r in report.labelers if r.agreement_low is not None]
    assert lows == sorted(lows, reverse=True)
    project.review_threshold = 1.01
    project.save()
    assert all(
        r.needs_review
        for r in agreement_report_build(project=project, n_resamples=0).labelers
        if r.agreement is not None
    )


def test_gold_accuracy_skip_and_flag_rates(make_user, make_project):
    labeler = make_user(Role.LABELER)
    project = make_project(pairs=0, members=[labeler])
    lines = [
        json.dumps({"prompt": f"p{i}", "response_a": "x", "response_b": f"y{i}", "gold_choice": "a"}) for i in range(4)
    ]
    pairs_import(project=project, lines=lines)
    pairs_import(
        project=project,
        lines=[json.dumps({"prompt": f"q{i}", "response_a": "x", "response_b": f"z{i}"}) for i in range(4)],
    )
    gold = list(Pair.objects.filter(project=project, is_gold=True).order_by("id"))
    plain = list(Pair.objects.filter(project=project, is_gold=False).order_by("id"))
    for pair, choice, swapped in zip(gold, ["a", "a", "b", "tie"], [True, False, True, False]):
        judge(pair, labeler, choice, None, swapped=swapped)
    judge(plain[0], labeler, "a", None, swapped=False)
    assignment_skip(assignment_id=lease(plain[1], labeler, False).id, labeler=labeler)
    assignment_flag(assignment_id=lease(plain[2], labeler, False).id, labeler=labeler, reason="broken")
    skipper = make_user(Role.LABELER)
    project_add_member(project=project, user=skipper)
    assignment_skip(assignment_id=lease(plain[3], skipper, True).id, labeler=skipper)
    report = agreement_report_build(project=project, n_resamples=0)
    row = next(r for r in report.labelers if r.labeler_id == labeler.id)
    assert (row.n_gold, row.gold_accuracy) == (4, 0.5)
    only_skips = next(r for r in report.labelers if r.labeler_id == skipper.id)
    assert (only_skips.n_judgments, only_skips.skip_rate, only_skips.agreement) == (0, 1.0, None)
    assert row.n_closed_assignments == 7
    assert row.skip_rate == pytest.approx(1 / 7) and row.flag_rate == pytest.approx(1 / 7)
    assert report.coefficients == [] and report.notes  # one judgment per pair: nothing to agree on


def test_exclusion_changes_the_numbers_and_is_reversible(judged_project, researcher, labeler):
    project, labelers, _pairs, nominal, _ = judged_project
    target = labelers[3]
    exclusion = exclusions.labeler_exclude(project=project, labeler=target, reason="rushed", excluded_by=researcher)
    assert exclusions.excluded_labeler_ids(project) == {target.id}
    with pytest.raises(Conflict):
        exclusions.labeler_exclude(project=project, labeler=target, reason="again", excluded_by=researcher)
    with pytest.raises(Forbidden):
        exclusions.labeler_exclude(project=project, labeler=labelers[0], reason="x", excluded_by=labeler)
    with pytest.raises(DomainError, match="reason"):
        exclusions.labeler_exclude(project=project, labeler=labelers[0], reason=" ", excluded_by=researcher)
    report = agreement_report_build(project=project, n_resamples=0)
    alpha = coefficient(report, "krippendorff_alpha").interval.estimate
    assert alpha == pytest.approx(krippendorff.alpha(nominal[:3], level_of_measurement="nominal"), abs=1e-9)
    row = next(r for r in report.labelers if r.labeler_id == target.id)
    assert row.excluded and row.n_judgments > 0  # still shown, judged against the others
    lifted = exclusions.labeler_exclusion_lift(
        project=project, labeler=target, reason="retrained", lifted_by=researcher
    )
    assert lifted.id == exclusion.id and lifted.lifted_by == researcher and lifted.lift_reason == "retrained"
    assert exclusions.excluded_labeler_ids(project) == set()
    with pytest.raises(NotFound):
        exclusions.labeler_exclusion_lift(project=project, labeler=target, reason="x", lifted_by=researcher)
    assert exclusions.exclusions_list(project=project).count() == 1  # the record is kept
    exclusions.labeler_exclude(project=project, labeler=target, reason="again", excluded_by=researcher)
    assert exclusions.exclusions_list(project=project).count() == 2


def test_api_report_and_exclusions_for_researchers_only(judged_project, researcher, api_client_for):
    project, labelers, *_ = judged_project
    as_labeler = api_client_for(labelers[0])
    assert as_labeler.get(f"/api/v1/projects/{project.slug}/agreement/").status_code == 403
    assert as_labeler.get(f"/api/v1/projects/{project.slug}/exclusions/").status_code == 403
    denied = as_labeler.post(
        f"/api/v1/projects/{project.slug}/exclusions/", {"username": labelers[1].username, "reason": "x"}, format="json"
    )
    assert denied.status_code == 403 and exclusions.excluded_labeler_ids(project) == set()
    client = api_client_for(researcher)
    body = client.get(f"/api/v1/projects/{project.slug}/agreement/?resamples=50&seed=2").json()
    assert {c["name"] for c in body["coefficients"]} == {"percent_agreement", "krippendorff_alpha", "fleiss_kappa"}
    assert body["labelers"] and body["ranking"] and body["n_resamples"] == 50
    assert client.get(f"/api/v1/projects/{project.slug}/agreement/?resamples=-1").status_code == 400
    again = client.get(f"/api/v1/projects/{project.slug}/agreement/?resamples=50&seed=2").json()
    assert again["coefficients"] == body["coefficients"]  # seeded: the same intervals every time
    url = f"/api/v1/projects/{project.slug}/exclusions/"
    created = client.post(url, {"username": labelers[1].username, "reason": "low agreement"}, format="json")
    assert (
        created.status_code == 201 and created.json()["active"] and created.json()["created_by"] == researcher.username
    )
    assert client.post(url, {"username": labelers[1].username, "reason": "x"}, format="json").status_code == 409
    assert client.post(url, {"username": "nobody", "reason": "x"}, format="json").status_code == 404
    assert client.post(url, {"reason": "x"}, format="json").status_code == 400
    lifted = client.post(url + "lift/", {"labeler_id": labelers[1].id, "reason": "reviewed"}, format="json")
    assert lifted.status_code == 200 and not lifted.json()["active"] and lifted.json()["lift_reason"] == "reviewed"
    listed = client.get(url).json()
    assert len(listed) == 1 and listed[0]["lifted_by"] == researcher.username
    assert client.get(url + "?active=1").json() == []


def test_management_command_prints_table_and_json(judged_project):
    project, *_ = judged_project
    out = StringIO()
    call_command("agreement_report", project=project.slug, format="json", resamples=20, stdout=out)
    body = json.loads(out.getvalue())
    assert body["project"] == project.slug and body["coefficients"][0]["interval"]["n_resamples"] == 20
    out = StringIO()
    call_command("agreement_report", project=project.slug, resamples=20, stdout=out)
    assert "krippendorff_alpha" in out.getvalue() and "Policy ranking" in out.getvalue()
    with pytest.raises(Exception, match="No project"):
        call_command("agreement_report", project="missing", stdout=StringIO())


def test_member_without_judgments_can_be_excluded_but_a_stranger_cannot(make_project, make_user, researcher):
    member, stranger = make_user(Role.LABELER), make_user(Role.LABELER)
    project = make_project(pairs=2, members=[member])
    exclusions.labeler_exclude(project=project, labeler=member, reason="test account", excluded_by=researcher)
    with pytest.raises(NotFound):
        exclusions.labeler_exclude(project=project, labeler=stranger, reason="x", excluded_by=researcher)
    project_add_member(project=project, user=stranger)
    exclusions.labeler_exclude(project=project, labeler=stranger, reason="x", excluded_by=researcher)


def test_confidence_scale_starting_at_zero_and_missing_confidence(make_user, make_project):
    labelers = [make_user(Role.LABELER) for _ in range(3)]
    project = make_project(pairs=5, members=labelers, confidence_min=0, confidence_max=4)
    pairs = list(Pair.objects.filter(project=project).order_by("id"))
    table = [[0, 0, 1, 2, 4], [0, 1, 1, 2, 3], [None, 0, 2, 2, 4]]
    ordinal = np.full((3, 5), np.nan)
    for lab, row in enumerate(table):
        for u, conf in enumerate(row):
            choice = "tie" if conf in (2, None) else ("a" if conf < 2 else "b")
            judge(pairs[u], labelers[lab], choice, conf, swapped=False)
            if conf is not None:
                ordinal[lab, u] = conf
    report = agreement_report_build(project=project, n_resamples=0)
    ours = coefficient(report, "krippendorff_alpha", "confidence").interval.estimate
    reference = krippendorff.alpha(ordinal, level_of_measurement="ordinal", value_domain=[0, 1, 2, 3, 4])
    assert ours == pytest.approx(reference, abs=1e-9)
    assert coefficient(report, "krippendorff_alpha", "confidence").n_judgments == int((~np.isnan(ordinal)).sum())


def test_empty_project_gives_an_empty_report_not_an_error(make_project, researcher, api_client_for):
    project = make_project(pairs=3)
    body = api_client_for(researcher).get(f"/api/v1/projects/{project.slug}/agreement/").json()
    assert (body["n_judgments"], body["coefficients"], body["labelers"], body["ranking"]) == (0, [], [], [])
    assert body["notes"]
