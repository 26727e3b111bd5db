"""The round page offers only the actions its state allows, with plain labels and the shared button style."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from rounds.models import RoundState, TrainingRound

pytestmark = pytest.mark.django_db


def buttons(html: str) -> list[str]:
    return re.findall(r'<button type="submit" class="button[^"]*" data-action="([^"]+)">([^<]+)</button>', html)


def test_buttons_match_the_round_state(fable_project, researcher):
    client = APIClient()
    client.force_login(researcher)
    client.post(f"/projects/{fable_project.slug}/rounds/new/", {
        "base_model": "tiny", "num_prompts": "3", "samples_per_prompt": "2", "current_vs_initial": "1",
        "current_vs_reference": "1", "current_vs_current": "0", "cumulative": "on", "ppo": '{"total_episodes": 4}',
    })  # fmt: skip
    r = TrainingRound.objects.get(project=fable_project)
    url = f"/projects/{fable_project.slug}/rounds/{r.number}/"
    expected = {
        RoundState.CREATED: [("start", "Start"), ("cancel", "Cancel")],
        RoundState.LABELING: [("close-labeling", "Close labeling now"), ("cancel", "Cancel")],
        RoundState.SAMPLING: [("cancel", "Cancel")],  # running: no Resume
        RoundState.FAILED: [("resume", "Resume"), ("cancel", "Cancel")],
        RoundState.DONE: [],
    }
    for state, wanted in expected.items():
        TrainingRound.objects.filter(id=r.id).update(state=state)
        assert buttons(client.get(url).content.decode()) == wanted, state


def test_a_labeling_round_says_who_holds_open_leases_and_releases_them(fable_project, researcher, make_user):
    from labeling.models import Assignment, AssignmentStatus, Pair
    from labeling.services.assignment import assignment_next
    from labeling.services.imports import pairs_import
    from labeling.services.projects import project_add_member
    from tests.conftest import pair_lines

    away = make_user("labeler", username="walked-away")
    project_add_member(project=fable_project, user=away)
    pairs_import(project=fable_project, lines=pair_lines(2))
    held = assignment_next(project=fable_project, labeler=away)
    client = APIClient()
    client.force_login(researcher)
    client.post(f"/projects/{fable_project.slug}/rounds/new/", {
        "base_model": "tiny", "num_prompts": "3", "samples_per_prompt": "2", "current_vs_initial": "1",
        "current_vs_reference": "1", "current_vs_current": "0", "cumulative": "on", "ppo": '{"total_episodes": 4}',
    })  # fmt: skip
    r = TrainingRound.objects.get(project=fable_project)
    url = f"/projects/{fable_project.slug}/rounds/{r.number}/"
    assert 'data-username="walked-away"' not in client.get(url).content.decode()  # not waiting for labels yet
    TrainingRound.objects.filter(id=r.id).update(state=RoundState.LABELING)
    html = client.get(url).content.decode()
    assert "Waiting for labels" in html and f"of {r.comparisons_target} comparisons so far" in html
    row = re.search(r'<tr data-username="walked-away">(.*?)</tr>', html, flags=re.S)
    assert row is not None and '<td class="num">1</td>' in row.group(1)
    release = re.search(r'action="([^"]+/leases/\d+/release/)"', row.group(1))
    assert release is not None
    client.post(release.group(1))
    assert not Assignment.objects.filter(id=held.id, status=AssignmentStatus.OPEN).exists()
    assert Pair.objects.get(id=held.pair_id).leased_count == 0
    assert 'data-username="walked-away"' not in client.get(url).content.decode()
