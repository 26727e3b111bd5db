"""A pair as researchers see it: both samples with their policies, every judgment with its labeler, its flags."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.errors import DomainError
from labeling.models import Comparison, FlagResolution, Pair, PairFlag
from labeling.services import flags as flag_services

from .access import project_for_page


def _pair_of(*, slug: str, pair_id: int, user) -> Pair:
    project = project_for_page(slug=slug, user=user, manage=True)
    return get_object_or_404(
        Pair.objects.select_related("project", "prompt", "sample_a__policy", "sample_b__policy"),
        id=pair_id,
        project=project,
    )


def _context(pair: Pair, *, note: str = "", error: str = "") -> dict:
    judgments = (
        Comparison.objects.filter(pair=pair)
        .select_related("labeler", "assignment")
        .order_by("labeler__username", "revision")
    )
    pair_flags = PairFlag.objects.filter(pair=pair).select_related("labeler", "resolved_by").order_by("created_at")
    return {
        "project": pair.project,
        "pair": pair,
        "judgments": judgments,
        "flags": pair_flags,
        "open_flags": [f for f in pair_flags if f.resolved_at is None],
        "resolutions": FlagResolution.choices,
        "note": note,
        "error": error,
    }


def pair_page(request, slug: str, pair_id: int):
    pair = _pair_of(slug=slug, pair_id=pair_id, user=request.user)
    return render(request, "frontend/pair_detail.html", _context(pair))


@require_POST
def pair_flags_resolve(request, slug: str, pair_id: int):
    pair = _pair_of(slug=slug, pair_id=pair_id, user=request.user)
    note = request.POST.get("note", "")
    try:
        count = flag_services.pair_flags_resolve(
            pair=pair, resolution=request.POST.get("resolution", ""), note=note, resolved_by=request.user
        )
    except DomainError as exc:
        return render(request, "frontend/pair_detail.html", _context(pair, note=note, error=exc.message), status=400)
    messages.success(request, f"{count} flag{'s' if count != 1 else ''} on pair #{pair.id} resolved.")
    return redirect("project-pair", slug=slug, pair_id=pair.id)
