"""Round pages: create a round from a form, follow it live, act on it (start, cancel, resume, close labeling)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import DomainError
from labeling.services import open_leases
from labeling.services.projects import project_get_for_user
from rounds import selectors
from rounds.charts import line_chart_svg
from rounds.config import PAIR_KINDS
from rounds.models import Experiment, RoundState
from rounds.services import lifecycle

ACTIONS = {
    "start": lambda r, user: lifecycle.round_start(training_round=r, actor=user),
    "cancel": lambda r, user: lifecycle.round_cancel(
        training_round=r, actor=user, reason="cancelled from the round page"
    ),
    "resume": lambda r, user: lifecycle.round_resume(
        training_round=r, actor=user, reason="resumed from the round page"
    ),
    "close-labeling": lambda r, user: lifecycle.round_close_labeling(training_round=r, actor=user),
}


def _project(request, slug):
    try:
        return project_get_for_user(slug=slug, user=request.user, manage=True)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def settings_from_form(post) -> dict:
    """Form fields → round settings JSON; empty fields keep the defaults. Bad JSON raises DomainError."""
    settings: dict = {}
    for name in ("num_prompts", "samples_per_prompt", "pairs_per_prompt", "comparisons_target", "heldout_prompts"):
        if post.get(name, "").strip():
            try:
                settings[name] = int(post[name])
            except ValueError as exc:
                raise DomainError(f"{name} must be a whole number.") from exc
    if post.get("base_model", "").strip():
        settings["base_model"] = post["base_model"].strip()
    mix = {}
    for kind in PAIR_KINDS:
        if post.get(kind, "").strip():
            try:
                mix[kind] = float(post[kind])
            except ValueError as exc:
                raise DomainError(f"The {kind} weight must be a number.") from exc
    if mix:
        settings["pair_mix"] = mix
    settings["cumulative"] = post.get("cumulative") == "on"
    for name in ("reward", "ppo"):
        raw = post.get(name, "").strip()
        if raw:
            try:
                settings[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DomainError(f"The {name} config is not valid JSON ({exc.msg}).") from exc
    return settings


@login_required
@require_POST
def round_new(request, slug):
    project = _project(request, slug)
    try:
        r = lifecycle.round_create(project=project, created_by=request.user, settings=settings_from_form(request.POST))
        if request.POST.get("start_now") == "on":
            lifecycle.round_start(training_round=r, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("project-detail", slug=slug)
    return redirect("round-page", slug=slug, number=r.number)


@login_required
@require_POST
def round_action(request, slug, number, action):
    project = _project(request, slug)
    if action not in ACTIONS:
        raise Http404(f"Unknown action {action!r}.")
    try:
        ACTIONS[action](selectors.round_for(project=project, number=number), request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("round-page", slug=slug, number=number)


@login_required
def round_page(request, slug, number):
    project = _project(request, slug)
    try:
        r = selectors.round_for(project=project, number=number)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    status = selectors.round_status(training_round=r)
    curve = (r.metrics.get("ppo") or {}).get("curve") or []
    steps = [c["step"] for c in curve]
    charts = [
        line_chart_svg(xs=steps, ys=[c.get("score") for c in curve], title="PPO: reward-model score"),
        line_chart_svg(xs=steps, ys=[c.get("kl") for c in curve], title="PPO: KL to the reference", color="#dc2626"),
    ]
    return render(request, "rounds/round_detail.html", {
        "project": project, "round": r, "status": status, "charts": charts,
        "estimate": r.compute_estimate, "compute_rows": _compute_rows(r),
        "actions": _actions_for(r.state),
        "lease_holders": open_leases.open_lease_holders(project=project) if r.state == RoundState.LABELING else [],
    })  # fmt: skip


# Button labels of the round actions (the URL keeps the action's slug).
ACTION_LABELS = {"start": "Start", "cancel": "Cancel", "resume": "Resume", "close-labeling": "Close labeling now"}


def _actions_for(state: str) -> list[dict[str, str]]:
    """The actions that make sense in a state: Resume only after a failure, never on a phase that is running."""
    names = {
        "created": ["start", "cancel"],
        "labeling": ["close-labeling", "cancel"],
        "failed": ["resume", "cancel"],
        "done": [],
        "cancelled": [],
    }.get(state, ["cancel"])
    return [{"name": name, "label": ACTION_LABELS[name]} for name in names]


def _compute_rows(r) -> list[dict]:
    achieved = r.compute_achieved or {}
    return [
        {
            "phase": phase,
            "flops": value,
            "seconds": (achieved.get(phase) or {}).get("seconds"),
            "flops_per_second": (achieved.get(phase) or {}).get("flops_per_second"),
        }
        for phase, value in (r.compute_estimate.get("flops") or {}).items()
    ]


@login_required
def experiment_chart(request, slug, experiment_id):
    """An experiment's stored SVG chart (built server-side with every text escaped), sandboxed."""
    project = _project(request, slug)
    experiment = Experiment.objects.filter(project=project, id=experiment_id).first()
    if experiment is None or not experiment.chart_svg:
        raise Http404("No such experiment chart.")
    response = HttpResponse(experiment.chart_svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
