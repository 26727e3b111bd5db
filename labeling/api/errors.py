"""Every API error is JSON with a human-readable `detail` and, for validation errors, the fields at fault."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import DomainError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the upload limit."
    default_code = "request_too_large"


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code, **exc.extra}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = getattr(response.data["detail"], "code", "error")
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        response.data.setdefault("detail", "Too many requests.")
    return response


def not_found_handler(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL under /api/ that matches no route (e.g. a negative id) gets the API's JSON error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def server_error_handler(request: HttpRequest) -> HttpResponse:
    """handler500: API clients get JSON they can parse, browsers the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error; it was logged.", "code": "server_error"}, status=500)
    return server_error(request)
