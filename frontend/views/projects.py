"""Researcher and admin pages: project list, project page with its slots, import form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from frontend.forms import ImportForm
from frontend.panels import panels_context
from labeling import selectors
from labeling.services import imports, open_leases
from labeling.services.accounts import is_researcher
from labeling.services.import_messages import import_failure_hint, import_summary
from labeling.services.projects import projects_visible_to

from .access import project_for_page


def _require_researcher(user) -> None:
    if not is_researcher(user):
        raise PermissionDenied("Only researchers and admins can see project pages.")


@login_required
def project_list(request):
    _require_researcher(request.user)
    rows = [
        {"project": p, "progress": selectors.project_progress(project=p)}
        for p in projects_visible_to(request.user).order_by("name")
    ]
    return render(request, "frontend/project_list.html", {"rows": rows})


def project_page_context(*, project, request, import_form=None, import_errors=None) -> dict:
    """Everything the project page and its slots render; other apps add theirs through frontend.panels."""
    return {
        "project": project,
        "progress": selectors.project_progress(project=project),
        "labelers": selectors.labeler_stats(project=project),
        "recent": selectors.recent_comparisons(project=project),
        "flags": selectors.flagged_pairs(project=project),
        "lease_holders": open_leases.open_lease_holders(project=project),
        "import_form": import_form or ImportForm(),
        "import_errors": import_errors or [],
        "progress_url": reverse("api-progress", kwargs={"slug": project.slug}),
        "panels": panels_context(project=project, request=request),
    }


@login_required
def project_detail(request, slug: str):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    return render(request, "frontend/project_detail.html", project_page_context(project=project, request=request))


@login_required
@require_POST
def project_import(request, slug: str):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    form = ImportForm(request.POST, request.FILES)
    errors: list[dict] = []
    if form.is_valid():
        lines = form.cleaned_data["file"].read().splitlines()
        try:
            kind, skip_invalid = form.cleaned_data["kind"], form.cleaned_data["skip_invalid"]
            if kind == "prompts":
                result = imports.prompts_import(project=project, lines=lines, skip_invalid=skip_invalid)
            else:
                result = imports.pairs_import(
                    project=project, lines=lines, gold=form.cleaned_data["gold"], skip_invalid=skip_invalid
                )
        except imports.ImportFileError as exc:
            errors = exc.extra.get("errors", [])
            form.add_error(None, exc.message if not errors else import_failure_hint(n_errors=len(errors)))
        else:
            messages.success(request, import_summary(kind=kind, result=result))
            for skipped in result.details.get("skipped", [])[:20]:
                messages.warning(request, f"Skipped line {skipped['line']}: {skipped['field']}: {skipped['message']}")
            return redirect(reverse("project-detail", kwargs={"slug": project.slug}) + "#import")
    context = project_page_context(project=project, request=request, import_form=form, import_errors=errors)
    return render(request, "frontend/project_detail.html", context, status=400)


@login_required
@require_POST
def project_leases_release(request, slug: str, user_id: int):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    labeler = get_object_or_404(get_user_model(), id=user_id)
    released = open_leases.open_leases_release(project=project, labeler=labeler)
    messages.success(
        request, f"Released {released} open pair(s) held by {labeler.username}; they are back in the pool."
    )
    return redirect(reverse("project-detail", kwargs={"slug": project.slug}) + "#leases")
