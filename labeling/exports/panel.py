"""Context for the exports panel of the project page."""

from __future__ import annotations

from typing import Any

from labeling.services.accounts import is_researcher

from .models import Export
from .options import AGREEMENT_LEVELS, FORMATS, PROMPT_LAYOUTS, STYLES, TIE_POLICIES, export_fields

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
        "prompt_layouts": PROMPT_LAYOUTS,
        "styles": STYLES,
        # name -> kind, for the form's script: the request's fields are listed once, in options.ExportRequest.
        "field_kinds": {name: kind for name, kind, _, _ in export_fields()},
    }
