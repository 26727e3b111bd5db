"""Per-process memory of API tokens already checked, so a labeler's requests do not read the token each time.

An entry lives ARBITER_TOKEN_CACHE_SECONDS; revoking a token or deactivating a user in this process forgets
the user's entries at once, and other processes stop accepting them when their entries run out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User

# Far above the labelers one web process serves; past it the memory starts over rather than grow.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedToken:
    user: User
    token_expiry: datetime | None
    cached_until: float


class TokenCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, CachedToken] = {}
        self._lock = threading.Lock()

    @staticmethod
    def seconds() -> float:
        return float(getattr(settings, "ARBITER_TOKEN_CACHE_SECONDS", 0))

    def get(self, digest: str) -> CachedToken | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.cached_until <= self.clock():
            self._entries.pop(digest, None)
            return None
        return entry

    def put(self, digest: str, *, user: User, token_expiry: datetime | None) -> None:
        seconds = self.seconds()
        if seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = CachedToken(user, token_expiry, self.clock() + seconds)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for digest in [d for d, entry in self._entries.items() if entry.user.pk == user_id]:
                self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


token_cache = TokenCache()
