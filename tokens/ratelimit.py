"""Per-caller request windows, in this process (API Gateway throttles globally)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most `limit` hits per key in any 60 seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, limit: int, cost: int = 1) -> bool:
        """Take `cost` hits from `key`'s minute, or none if they do not all fit."""
        now = time.monotonic()
        with self.lock:
            window = self.hits[key]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) + cost > limit:
                return False
            window.extend([now] * cost)
            return True


limiter = RateLimiter()


def allow(key: str, limit: int) -> bool:
    return limiter.allow(key, limit)
