"""The round page as named sections, one template each (rounds/templates/rounds/sections/): the first render
and every poll of the page render the same templates from the same context, so a section has one definition."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from labeling.models import Project
from labeling.services import open_leases
from rounds import selectors
from rounds.charts import line_chart_svg
from rounds.models import RoundState, TrainingRound
from rounds.services.progress import heartbeat_is_stale
from rounds.services.state import PHASES, TERMINAL

SECTIONS = ("head", "now", "leases", "launches", "timeline", "compute", "reward_model", "ppo", "evaluation")
"""Section names, in page order; each is rounds/sections/<name>.html."""
POLL_MS_RUNNING, POLL_MS_TERMINAL = 3000, 20000
"""A finished round still changes (humans judge its evaluation pairs), only slowly."""

ACTION_LABELS = {"start": "Start", "cancel": "Cancel", "resume": "Resume", "close-labeling": "Close labeling now"}
"""Button labels of the round actions (the URL keeps the action's slug)."""


def round_actions(training_round: TrainingRound) -> list[dict[str, str]]:
    """The actions that make sense now: Resume after a failure, or for a phase whose task could not be queued
    or whose worker stopped reporting (a stale heartbeat); never on a phase that is running; nothing once the
    round is done or cancelled."""
    r = training_round
    if r.state in TERMINAL:
        return []
    names = {"created": ["start", "cancel"], "labeling": ["close-labeling", "cancel"], "failed": ["resume", "cancel"]}
    actions = list(names.get(r.state, ["cancel"]))
    lost = r.progress_updated_at is not None and heartbeat_is_stale(r)
    if r.state in PHASES and r.state != RoundState.LABELING and (r.enqueue_error or lost):
        actions.insert(0, "resume")
    return [{"name": name, "label": ACTION_LABELS[name]} for name in actions]


def progress_display(training_round: TrainingRound) -> dict[str, Any]:
    """The 'now' figures as they read in each state: a done round is 100% of its phases, a stopped one has
    no percent or ETA, and a waiting round has not begun its phase."""
    r = training_round
    if r.state == RoundState.DONE:
        return {"percent": "100", "percent_label": "% done (every phase finished)", "eta": "–"}
    if r.state in (RoundState.CANCELLED, RoundState.FAILED):
        where = f" in {r.failed_in}" if r.state == RoundState.FAILED and r.failed_in else ""
        return {"percent": "–", "percent_label": f"% (stopped{where})", "eta": "–"}
    if r.state == RoundState.CREATED:
        return {"percent": "0", "percent_label": "% (not started)", "eta": "–"}
    eta = r.progress_eta_seconds
    return {
        "percent": f"{r.progress_percent:.0f}",
        "percent_label": f"% of this phase ({r.state.replace('_', ' ')})",
        "eta": f"{eta:.0f}" if eta is not None else "–",
    }


def ppo_charts(training_round: TrainingRound) -> list:
    curve = (training_round.metrics.get("ppo") or {}).get("curve") or []
    steps = [c["step"] for c in curve]
    return [
        line_chart_svg(xs=steps, ys=[c.get("score") for c in curve], title="PPO: reward-model score",
                       y_label="score"),
        line_chart_svg(xs=steps, ys=[c.get("kl") for c in curve], title="PPO: KL to the reference",
                       color="#a61b1b", y_label="nats"),
    ]  # fmt: skip


def compute_rows(training_round: TrainingRound) -> list[dict[str, Any]]:
    achieved = training_round.compute_achieved or {}
    return [
        {
            "phase": phase,
            "flops": value,
            "seconds": (achieved.get(phase) or {}).get("seconds"),
            "flops_per_second": (achieved.get(phase) or {}).get("flops_per_second"),
        }
        for phase, value in (training_round.compute_estimate.get("flops") or {}).items()
    ]


def round_page_context(*, project: Project, training_round: TrainingRound) -> dict[str, Any]:
    r = TrainingRound.objects.select_related("policy", "initial_policy", "new_policy", "reward_model").get(
        id=training_round.id
    )
    evaluation = r.metrics.get("evaluation") or {}
    return {
        "project": project, "round": r, "status": selectors.round_status(training_round=r),
        "progress": progress_display(r), "charts": ppo_charts(r), "estimate": r.compute_estimate,
        "compute_rows": compute_rows(r), "actions": round_actions(r),
        "phase_seconds": [(p, r.phase_seconds[p]) for p in PHASES if p in r.phase_seconds],
        "transitions": list(r.transitions.select_related("actor").order_by("created_at", "id")),
        "lease_holders": open_leases.open_lease_holders(project=project) if r.state == RoundState.LABELING else [],
        "launches": selectors.round_launches(training_round=r),
        "has_samples": bool(evaluation.get("samples_file")),
        "poll_ms": POLL_MS_TERMINAL if r.state in TERMINAL else POLL_MS_RUNNING,
        "sections_url": reverse("round-sections", args=[project.slug, r.number]),
    }  # fmt: skip


def round_sections_render(*, request: HttpRequest, context: dict[str, Any]) -> dict[str, str]:
    """Each section's HTML, as the page shows it."""
    return {name: render_to_string(f"rounds/sections/{name}.html", context, request=request) for name in SECTIONS}
