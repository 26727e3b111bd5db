"""One export as a readable page: who made it, what it holds (counts, agreement, policies, files), its request."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from labeling.exports.models import Export

from .access import project_for_page


@login_required
def export_page(request, slug: str, export_id: int):
    project = project_for_page(slug=slug, user=request.user, manage=True)
    export = get_object_or_404(Export.objects.select_related("created_by"), id=export_id, project=project)
    manifest = export.manifest or {}
    counts = manifest.get("counts", {})
    context = {
        "project": project,
        "export": export,
        "manifest": manifest,
        "counts": counts,
        "splits": sorted(counts.get("splits", {}).items()),
        "dropped": sorted(counts.get("dropped", {}).items()),
        "agreement": sorted(manifest.get("agreement", {}).get("pairs_by_level", {}).items()),
        "request_items": sorted((manifest.get("request") or export.filters or {}).items()),
        "files": manifest.get("files", []),
    }
    return render(request, "frontend/export_detail.html", context)
