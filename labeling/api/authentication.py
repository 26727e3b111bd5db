"""API token authentication: django-rest-knox tokens (SHA-512 digests, expiring), at most one query per request."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions

from labeling.services.token_cache import token_cache


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox's `Authorization: Token <key>` scheme, with the user's profile joined in and no write per request.

    Knox's own check also walks (and deletes) every other expired token of the user on each request; here an
    expired token is simply refused (its row stays listed until revoked), keeping the labeling hot path to one
    read; a token this process checked less than ARBITER_TOKEN_CACHE_SECONDS ago is not read again.
    """

    def authenticate_credentials(self, token: bytes):
        key = token.decode("utf-8", errors="replace")
        try:
            digest = hash_token(key)
        except (TypeError, binascii.Error):
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        now = timezone.now()
        cached = token_cache.get(digest)
        if cached is not None and (cached.token_expiry is None or cached.token_expiry > now):
            return cached.user, None
        candidates = AuthToken.objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user__profile"
        )
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry <= now:
                    raise exceptions.AuthenticationFailed(_("Token expired; create a new one."))
                user = self.validate_user(auth_token)[0]
                token_cache.put(digest, user=user, token_expiry=auth_token.expiry)
                return user, auth_token
        raise exceptions.AuthenticationFailed(_("Invalid token."))
