"""Turn domain permission errors into the HTTP errors Django renders as pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from common.errors import Forbidden, NotFound
from labeling.models import Project
from labeling.services.projects import project_get_for_user


def project_for_page(*, slug: str, user, manage: bool = False) -> Project:
    try:
        return project_get_for_user(slug=slug, user=user, manage=manage)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
