"""Context for the training-rounds panel of the project page."""

from __future__ import annotations

from typing import Any

from labeling.services.accounts import is_researcher
from rounds.config import RoundSettings
from rounds.models import Experiment, TrainingRound
from rounds.services.lifecycle import base_model_default


def rounds_panel_context(*, project, request) -> dict[str, Any]:
    if not is_researcher(request.user):
        return {"visible": False}
    return {
        "visible": True,
        "rounds": list(
            TrainingRound.objects.filter(project=project)
            .select_related("policy", "new_policy")
            .order_by("-number")[:20]
        ),
        "defaults": RoundSettings(base_model=base_model_default(project=project)),
    }


def experiments_panel_context(*, project, request) -> dict[str, Any]:
    """The project's oracle experiments, newest first, with the figures of each one's last measured round."""
    if not is_researcher(request.user):
        return {"visible": False}
    rows = []
    for experiment in Experiment.objects.filter(project=project).select_related("created_by")[:10]:
        report = experiment.report or {}
        rounds = report.get("rounds") or []
        rows.append({"experiment": experiment, "initial": report.get("initial") or {}, "rounds": rounds})
    return {"visible": True, "experiments": rows}
