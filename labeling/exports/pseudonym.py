"""Stable labeler pseudonyms: HMAC-SHA256 of the user id under a per-project secret key."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self._cache: dict[int, str] = {}

    def __call__(self, labeler_id: int) -> str:
        name = self._cache.get(labeler_id)
        if name is None:
            digest = hmac.new(self._key, str(labeler_id).encode(), hashlib.sha256).hexdigest()
            name = self._cache[labeler_id] = f"w_{digest[:16]}"
        return name
