"""Login lockout (django-axes) for logins that come over HTTP: the login form, Django admin."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, skipped for logins without a request (management commands, the test client),
    which have no address to count failures by and cannot be brute-forced over the network."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
