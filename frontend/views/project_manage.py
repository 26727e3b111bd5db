"""Researcher pages that change a project: create it, edit its settings (with a Markdown preview), its members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.errors import DomainError
from frontend.forms import MemberAddForm, ProjectCreateForm, ProjectSettingsForm
from frontend.rendering import markdown_safe
from labeling.models import ProjectMembership
from labeling.services import project_settings
from labeling.services.accounts import is_researcher, user_role
from labeling.services.projects import PROJECT_FIELDS, project_add_member, project_create

from .access import project_for_page


def _add_domain_errors(form, exc: DomainError) -> None:
    errors = exc.extra.get("errors") or {}
    for name, problems in errors.items():
        form.add_error(name if name in form.fields else None, problems)
    if not errors:
        form.add_error(None, exc.message)


def _preview(form) -> str | None:
    if form.data.get("action") != "preview":
        return None
    return markdown_safe(form.data.get("instructions", ""))


@login_required
def project_new(request):
    if not is_researcher(request.user):
        raise PermissionDenied("Only researchers and admins can create projects.")
    form = ProjectCreateForm(request.POST or None)
    preview = _preview(form) if request.method == "POST" else None
    if request.method == "POST" and preview is None and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in PROJECT_FIELDS}
        try:
            project = project_create(slug=form.cleaned_data["slug"], created_by=request.user, **fields)
        except DomainError as exc:
            _add_domain_errors(form, exc)
        else:
            messages.success(request, f"Project {project.name} created. Import pairs or prompts to start labeling.")
            return redirect("project-detail", slug=project.slug)
    status = 400 if request.method == "POST" and preview is None else 200
    return render(request, "frontend/project_new.html", {"form": form, "preview": preview}, status=status)


def _settings_context(*, project, form, preview=None, member_form=None) -> dict:
    members = (
        ProjectMembership.objects.filter(project=project).select_related("user__profile").order_by("user__username")
    )
    return {
        "project": project,
        "form": form,
        "preview": preview,
        "locked": project_settings.project_locked_fields(project=project),
        "members": [{"user": m.user, "role": user_role(m.user), "joined_at": m.joined_at} for m in members],
        "member_form": member_form or MemberAddForm(),
    }


@login_required
def project_settings_page(request, slug: str):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    locked = project_settings.project_locked_fields(project=project)
    form = ProjectSettingsForm(request.POST or None, instance=project, locked=locked)
    preview = _preview(form) if request.method == "POST" else None
    if request.method == "POST" and preview is None:
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in PROJECT_FIELDS if name not in locked}
            try:
                project_settings.project_update(project=project, changes=changes)
            except DomainError as exc:
                _add_domain_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("project-settings", slug=project.slug)
        project.refresh_from_db()
        context = _settings_context(project=project, form=form)
        return render(request, "frontend/project_settings.html", context, status=400)
    if preview is None and request.method == "GET":
        preview = markdown_safe(project.instructions) if project.instructions else None
    return render(
        request, "frontend/project_settings.html", _settings_context(project=project, form=form, preview=preview)
    )


@login_required
@require_POST
def project_member_add(request, slug: str):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"], is_active=True).first()
        if user is None:
            form.add_error("username", f"No active user {form.cleaned_data['username']!r}.")
        else:
            project_add_member(project=project, user=user)
            messages.success(request, f"{user.username} is now a member of {project.name}.")
            return redirect(reverse("project-settings", kwargs={"slug": project.slug}) + "#members")
    settings_form = ProjectSettingsForm(
        instance=project, locked=project_settings.project_locked_fields(project=project)
    )
    context = _settings_context(project=project, form=settings_form, member_form=form)
    return render(request, "frontend/project_settings.html", context, status=400)


@login_required
@require_POST
def project_member_remove(request, slug: str, user_id: int):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    user = get_object_or_404(get_user_model(), id=user_id)
    project_settings.project_remove_member(project=project, user=user)
    messages.success(request, f"{user.username} was removed from {project.name}; their judgments are kept.")
    return redirect(reverse("project-settings", kwargs={"slug": project.slug}) + "#members")
