"""Refuse request bodies over the upload limit with a 413 (JSON under /api/) before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
    detail = f"The request body is larger than the upload limit of {size}. Split the file and import it in parts."
    if not request.path.startswith("/api/"):
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
    return JsonResponse({"detail": detail, "code": "request_too_large", "limit_bytes": limit}, status=413)


class RequestSizeLimitMiddleware:
    """Content-Length above ARBITER_MAX_REQUEST_BYTES → 413 JSON; Django's own RequestDataTooBig (a body read
    past DATA_UPLOAD_MAX_MEMORY_SIZE) too, instead of its HTML 400 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.ARBITER_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return too_large_response(request, limit)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request, settings.ARBITER_MAX_REQUEST_BYTES)
        return None
