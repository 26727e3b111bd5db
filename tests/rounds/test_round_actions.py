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
