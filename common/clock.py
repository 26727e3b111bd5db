"""Injectable clock and randomness, so lease expiry and display order can be controlled in tests."""

from __future__ import annotations

import random
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


_rng = random.SystemRandom()


def coin_flip() -> bool:
    return _rng.random() < 0.5


def uniform() -> float:
    return _rng.random()
