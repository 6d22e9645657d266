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

    def allow(self, key: str, limit: int) -> bool:
        now = time.monotonic()
        with self.lock:
            window = self.hits[key]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True


limiter = RateLimiter()


def allow(key: str, limit: int) -> bool:
    return limiter.allow(key, limit)
