"""The labeler workspace page; everything after the first paint goes through the JSON API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from frontend.workspace_config import workspace_config

from .access import project_for_page


@login_required
def label_workspace(request, slug: str):
    project = project_for_page(slug=slug, user=request.user)
    return render(
        request,
        "frontend/workspace.html",
        {"project": project, "workspace_config": workspace_config(project=project)},
    )
