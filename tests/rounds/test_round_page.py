"""The round page's sections (one template each, for the first view and the poll), the evaluation samples view
and the project's across-rounds table, on rounds whose phases' results are written as the phases write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from common import clock
from labeling.services.pairs import PairRow, pairs_create
from labeling.stats.intervals import wilson_interval
from rounds.models import RoundState, TrainingRound
from rounds.page import POLL_MS_RUNNING, POLL_MS_TERMINAL, SECTIONS
from rounds.phases.base import sample_store
from rounds.selectors import win_rate
from rounds.services.lifecycle import round_create
from rounds.simulation import simulated_labelers_run

from .conftest import TINY_SETTINGS, round_finish_as_phases_do

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(researcher):
    c = APIClient()
    c.force_login(researcher)
    return c


def test_the_poll_renders_the_sections_the_page_shows_and_they_follow_the_round(fable_project, researcher, client):
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    base = f"/projects/{fable_project.slug}/rounds/{r.number}/"
    page = client.get(base).content.decode()
    polled = client.get(f"{base}sections/").json()
    assert polled["state"] == RoundState.CREATED and set(polled["sections"]) == set(SECTIONS)
    for name in SECTIONS:
        assert f'data-round-section="{name}"' in page
        if name != "head":  # the head's forms carry a fresh CSRF token each render
            assert polled["sections"][name] in page, name
    assert "Not trained yet" in polled["sections"]["reward_model"]
    assert "not started" in polled["sections"]["now"]

    round_finish_as_phases_do(r, accuracy=0.75, n=8, score=0.4, kl=0.12)
    sections = client.get(f"{base}sections/").json()["sections"]
    assert "held-out accuracy <strong>0.750</strong>" in sections["reward_model"]
    assert "new <strong>0.400</strong> vs previous -0.100" in sections["evaluation"]
    assert "data-action" not in sections["head"] and "nothing left to do" in sections["head"]
    assert 'id="round-percent">100<' in sections["now"] and "every phase finished" in sections["now"]
    assert sections["ppo"].count("<polyline") == 2
    assert client.get(f"{base}sections/").json()["poll_ms"] == POLL_MS_TERMINAL > polled["poll_ms"] == POLL_MS_RUNNING


def test_only_researchers_see_the_sections_and_samples(fable_project, researcher, labeler):
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    base = f"/projects/{fable_project.slug}/rounds/{r.number}/"
    client = APIClient()
    client.force_login(labeler)
    assert client.get(f"{base}sections/").status_code == 404
    assert client.get(f"{base}samples/").status_code == 404
    anonymous = APIClient().get(f"{base}sections/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_resume_is_offered_only_for_a_failed_or_lost_phase(fable_project, researcher, client):
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    url = f"/projects/{fable_project.slug}/rounds/{r.number}/sections/"
    TrainingRound.objects.filter(id=r.id).update(state=RoundState.POLICY_OPTIMIZATION, progress_updated_at=clock.now())
    assert 'data-action="resume"' not in client.get(url).json()["sections"]["head"]
    TrainingRound.objects.filter(id=r.id).update(progress_updated_at=clock.now() - timedelta(hours=2))
    head = client.get(url).json()["sections"]["head"]
    assert 'data-action="resume"' in head and 'data-action="cancel"' in head


def test_samples_view_shows_both_sides_sorted_and_escaped(fable_project, researcher, client, tmp_path):
    from training.ppo.evaluate import EvaluatedResponse

    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    prompts = list(fable_project.prompts.order_by("id")[:3])

    def side(text: str, score: float) -> EvaluatedResponse:
        return EvaluatedResponse(prompt="", text=text, score=score, score_raw=score, kl=(0.0,), num_tokens=3,
                                 has_eos=True)  # fmt: skip

    new = [side("<script>alert(1)</script>", 0.9), side("better & kinder", 0.2), side("worse", -1.0)]
    previous = [side("old one", 0.1), side("old two", 0.1), side("old three", 0.5)]
    round_finish_as_phases_do(r, accuracy=0.6, n=5, score=0.1, kl=0.1, folder=tmp_path, rows={"prompts": prompts, "new": new,
                                                                             "previous": previous})  # fmt: skip
    url = f"/projects/{fable_project.slug}/rounds/{r.number}/samples/"
    html = client.get(url).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "better &amp; kinder" in html
    order = lambda body: [body.index(t) for t in ("&lt;script&gt;", "better &amp;", "worse")]  # noqa: E731
    by_gain = order(html)
    assert by_gain == sorted(by_gain)  # differences 0.8, 0.1, -1.5
    by_loss = order(client.get(url + "?order=-difference").content.decode())
    assert by_loss == sorted(by_loss, reverse=True)
    assert client.get(url + "?order=nonsense").status_code == 404
    page = client.get(f"/projects/{fable_project.slug}/rounds/{r.number}/").content.decode()
    assert 'id="samples-link"' in page


def test_project_page_shows_every_round_with_its_intervals(fable_project, researcher, client):
    first = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    round_finish_as_phases_do(first, accuracy=0.6, n=10, score=0.1, kl=0.05)
    second = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    round_finish_as_phases_do(second, accuracy=0.8, n=10, score=0.5, kl=0.2)
    round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)  # not started
    # Humans judge the second round's new-vs-previous pairs: the shorter response wins, the new one here.
    second.refresh_from_db()
    rows = []
    for prompt in fable_project.prompts.order_by("id")[:3]:
        a = sample_store(prompt=prompt, policy_id=second.new_policy_id, text="Brief.", params={})
        b = sample_store(prompt=prompt, policy_id=second.policy_id, text="A much longer answer " * 4, params={})
        rows.append(PairRow(prompt.id, a.id, b.id, batch=second.eval_batch))
    pairs_create(project=fable_project, rows=rows)
    simulated_labelers_run(project=fable_project, labelers=2, noise=0.0)
    rate = win_rate(training_round=second)
    assert rate["n"] == 6 and rate["rate"] == 1.0
    html = client.get(f"/projects/{fable_project.slug}/").content.decode()
    table = html[html.index('id="rounds-trend"') :]
    low, high = wilson_interval(8.0, 10)
    assert f"{low:.3f}–{high:.3f} (10)" in table and ">0.800<" in table and ">0.600<" in table
    assert table.count("<tr data-round=") == 3
    charts = html[html.index('id="rounds-trend-charts"') : html.index('id="rounds-trend"')]
    assert charts.count("<svg") == 4 and charts.count('class="interval"') == 3  # RM accuracy's two, win rate's one
    win_low, win_high = rate["ci95"]
    assert f"{win_low:.3f}–{win_high:.3f} (6)" in table and "no judgments yet" in table  # round 1 has none
    assert "Reward model: held-out accuracy (95% CI)" in charts
    rounds_table = html[html.index('id="rounds-table"') : html.index("</table>", html.index('id="rounds-table"'))]
    assert rounds_table.count(f"<td>{researcher.username}</td>") == 3  # created by
