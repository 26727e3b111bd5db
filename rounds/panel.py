"""Context for the training-rounds panel of the project page."""

from __future__ import annotations

from typing import Any

from labeling.services.accounts import is_researcher
from rounds.charts import line_chart_svg
from rounds.config import RoundSettings
from rounds.models import Experiment, TrainingRound
from rounds.page import progress_display
from rounds.selectors import rounds_trend
from rounds.services.lifecycle import base_model_default


def rounds_panel_context(*, project, request) -> dict[str, Any]:
    if not is_researcher(request.user):
        return {"visible": False}
    return {
        "visible": True,
        "rounds": [
            {"round": r, "progress": progress_display(r)}
            for r in TrainingRound.objects.filter(project=project)
            .select_related("policy", "new_policy", "created_by")
            .order_by("-number")[:20]
        ],
        "defaults": RoundSettings(base_model=base_model_default(project=project)),
        **trend_context(rows=rounds_trend(project=project)),
    }


def trend_context(*, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The across-rounds table and its charts: does each round's reward model and policy improve?"""
    xs = [row["number"] for row in rows]
    wins = [row["win_rate"] or {} for row in rows]
    charts = [
        line_chart_svg(xs=xs, ys=[row["rm_accuracy"] for row in rows], intervals=[row["rm_ci95"] for row in rows],
                       title="Reward model: held-out accuracy (95% CI)", x_label="round", y_label="accuracy",
                       reference=0.5, y_range=(0.0, 1.0)),
        line_chart_svg(xs=xs, ys=[row["ppo_score"] for row in rows], title="PPO: reward-model score at the last step",
                       x_label="round", y_label="score"),
        line_chart_svg(xs=xs, ys=[row["ppo_kl"] for row in rows], title="PPO: KL to the reference at the last step",
                       x_label="round", y_label="nats", color="#a61b1b"),
        line_chart_svg(xs=xs, ys=[w.get("rate") for w in wins], intervals=[w.get("ci95") for w in wins],
                       title="Human win rate of the new policy (Wilson 95% CI)", x_label="round", y_label="win rate",
                       color="#0f5132", reference=0.5, y_range=(0.0, 1.0)),
    ]  # fmt: skip
    return {"trend": rows, "trend_charts": charts if any(r["state"] != "created" for r in rows) else []}


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
