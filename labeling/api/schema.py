"""OpenAPI generation: every operation also documents the JSON errors the API can answer with."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every API error: a human-readable `detail`, a machine `code`, and for validation errors the fields."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="Validation errors by field, or by line for imports.")


# Answered by any operation: not logged in, not allowed, not found (or not visible), throttled.
_ALWAYS = {"401": "Not authenticated", "403": "Not allowed", "404": "Not found", "429": "Too many requests"}
_WITH_BODY = {"400": "Invalid input", "409": "Conflict with the current state", "413": "Request body too large",
              "415": "Unsupported media type", "503": "The job queue cannot be reached; retry later"}  # fmt: skip
_WITH_QUERY = {"400": "Invalid query parameters"}


class ArbiterAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(_ALWAYS)
        errors.update(_WITH_BODY if self.method in {"POST", "PUT", "PATCH"} else _WITH_QUERY)
        for code, description in errors.items():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code] = {**body, "description": description}
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "labeling.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'API token from POST /api/v1/tokens/ or `manage.py create_user`: "Token <key>".',
        }
