"""The labeler workspace page; everything after the first paint goes through the JSON API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from frontend.workspace_config import workspace_config
from labeling.services.content_warnings import content_warning_pending

from .access import project_for_page


@login_required
def label_workspace(request, slug: str):
    project = project_for_page(slug=slug, user=request.user)
    pending = content_warning_pending(project=project, user=request.user)
    return render(
        request,
        "frontend/workspace.html",
        {
            "project": project,
            "content_warning_pending": pending,
            "workspace_config": workspace_config(project=project, content_warning_pending=pending),
        },
    )
