"""Role-based API permissions."""

from rest_framework.permissions import BasePermission

from labeling.services.accounts import is_admin, is_researcher


class IsResearcher(BasePermission):
    message = "Only researchers and admins can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_researcher(request.user))


class IsAdmin(BasePermission):
    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_admin(request.user))
