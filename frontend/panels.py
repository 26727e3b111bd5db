"""Registry of extra context for the project page's slots, so other apps add data without editing frontend views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from labeling.models import Project

PanelContext = Callable[..., dict[str, Any]]
_PANELS: dict[str, PanelContext] = {}


def register_panel(name: str, context_fn: PanelContext) -> None:
    """Register `context_fn(*, project, request) -> dict`; its result is `panels.<name>` in the slot templates.

    Call it from your AppConfig.ready(). Registering the same name again replaces the earlier function.
    """
    _PANELS[name] = context_fn


def panels_context(*, project: Project, request: HttpRequest) -> dict[str, dict[str, Any]]:
    return {name: fn(project=project, request=request) for name, fn in _PANELS.items()}
