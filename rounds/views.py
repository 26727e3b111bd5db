"""Round pages: create a round from a form, follow it live, act on it (start, cancel, resume, close labeling)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import DomainError
from labeling.services.projects import project_get_for_user
from rounds import page, selectors
from rounds.config import PAIR_KINDS
from rounds.models import Experiment, RoundState
from rounds.phases.labeling import round_labeling_check
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
        ACTIONS[action](_round(project, number), request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("round-page", slug=slug, number=number)


def _round(project, number):
    try:
        return selectors.round_for(project=project, number=number)
    except DomainError as exc:
        raise Http404(exc.message) from exc


@login_required
def round_page(request, slug, number):
    project = _project(request, slug)
    context = page.round_page_context(project=project, training_round=_round(project, number))
    return render(request, "rounds/round_detail.html", context)


@login_required
def round_sections(request, slug, number):
    """The round page's sections as HTML, for the page's polling; it doubles as the labeling-target check."""
    project = _project(request, slug)
    r = _round(project, number)
    if r.state == RoundState.LABELING:
        round_labeling_check(round_id=r.id)
    context = page.round_page_context(project=project, training_round=r)
    return JsonResponse({
        "state": context["round"].state, "poll_ms": context["poll_ms"],
        "sections": page.round_sections_render(request=request, context=context),
    })  # fmt: skip


@login_required
def round_samples(request, slug, number):
    project = _project(request, slug)
    r = _round(project, number)
    order = request.GET.get("order", "difference")
    try:
        rows = selectors.round_evaluation_samples(training_round=r, order=order)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return render(request, "rounds/round_samples.html", {
        "project": project, "round": r, "rows": rows, "order": order,
        "orders": list(selectors.SAMPLE_ORDER_LABELS.items()),
    })  # fmt: skip


@login_required
def launch_log(request, slug, number, phase, index):
    """The tail of a launched child's log, as plain text (researchers of the project, as the round page)."""
    r = _round(_project(request, slug), number)
    try:
        text = selectors.launch_log(training_round=r, phase=phase, index=index)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


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
