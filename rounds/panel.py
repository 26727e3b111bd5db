"""Context for the training-rounds panel of the project page."""

from __future__ import annotations

from typing import Any

from labeling.services.accounts import is_researcher
from rounds.config import RoundSettings
from rounds.models import TrainingRound
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
