"""Where a user lands after login: labelers to their work, researchers and admins to the project list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from labeling.services.accounts import is_researcher
from labeling.services.projects import projects_visible_to


@login_required
def home(request):
    if is_researcher(request.user):
        return redirect("project-list")
    return redirect("label-home")


@login_required
def label_home(request):
    """The labeler's project: straight in when there is one, a picker when there are several."""
    projects = list(projects_visible_to(request.user).order_by("name"))
    if len(projects) == 1 and not is_researcher(request.user):
        return redirect("label-workspace", slug=projects[0].slug)
    return render(request, "frontend/label_picker.html", {"projects": projects})
