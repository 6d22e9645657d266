"""Per-caller request windows, in this process (API Gateway throttles globally)."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from tokens.actors import Actor

WINDOW = 60  # seconds


class RateLimiter:
    """At most `limit` hits per key in any 60 seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def take(self, key: str, limit: int, cost: int = 1) -> int:
        """Take `cost` hits from `key`'s minute and return 0, or take none and return the
        whole seconds until they would all fit (a full window if they never can)."""
        now = time.monotonic()
        with self.lock:
            window = self.hits[key]
            while window and window[0] <= now - WINDOW:
                window.popleft()
            over = len(window) + cost - limit
            if over <= 0:
                window.extend([now] * cost)
                return 0
            if cost > limit or over > len(window):
                return WINDOW
            # The `over` oldest hits must leave the window first.
            return max(1, math.ceil(window[over - 1] + WINDOW - now))


limiter = RateLimiter()


def request_limit(actor: Actor) -> int:
    """Requests a minute `actor` may make in this process: its own limit, else the default.
    (A detokenize batch of n counts n; a tokenize batch counts one.)"""
    return actor.rate_limit or settings.VAULT_API_RATE_LIMIT
