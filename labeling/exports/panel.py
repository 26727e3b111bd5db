"""Context for the exports panel of the project page."""

from __future__ import annotations

from typing import Any

from labeling.services.accounts import is_researcher

from .models import Export
from .options import AGREEMENT_LEVELS, FORMATS, TIE_POLICIES

RECENT_EXPORTS = 20


def exports_panel_context(*, project, request) -> dict[str, Any]:
    if not is_researcher(request.user):
        return {"visible": False}
    return {
        "visible": True,
        "exports": list(Export.objects.filter(project=project).select_related("created_by")[:RECENT_EXPORTS]),
        "formats": FORMATS,
        "tie_policies": TIE_POLICIES,
        "agreement_levels": AGREEMENT_LEVELS,
    }
