"""What an operator purged lately, so a second "Purge now" (a double click, a
resend) is answered "already purged" instead of "No such token".

Each operator's purges are remembered apart, for REMEMBER seconds, in the
shared cache (every process of the operator function sees them), under a
keyed hash of the token id. Only the operator who purged is ever told: anyone
else, and anything unknown or expired, still gets the vault's one "No such
token" answer, so this is no oracle for tokens they could not see.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils.crypto import salted_hmac

REMEMBER = 3600  # seconds
# How long a second submit waits for the first, still running, to finish.
WAIT = 3.0
POLL = 0.1


def _key(user: Any, token: str) -> str:
    return f"vault-purge:{user.pk}:{salted_hmac('tokens.pages.purges', token).hexdigest()[:40]}"


@dataclass
class Purge:
    key: str
    nonce: str
    owned: bool

    def done(self) -> None:
        cache.set(self.key, {"state": "done", "at": int(time.time())}, REMEMBER)

    def cancel(self) -> None:
        """The purge did not happen (here): forget it, unless another submit took over."""
        if self.owned and cache.get(self.key) == {"state": "pending", "nonce": self.nonce}:
            cache.delete(self.key)


def begin(user: Any, token: str) -> Purge:
    key, nonce = _key(user, token), uuid.uuid4().hex
    owned = cache.add(key, {"state": "pending", "nonce": nonce}, int(WAIT * 10))
    return Purge(key, nonce, bool(owned))


def done_by(user: Any, token: str) -> int | None:
    """When this operator purged `token` (Unix seconds), waiting briefly for a
    purge of theirs still under way; None if they did not."""
    key = _key(user, token)
    deadline = time.monotonic() + WAIT
    while True:
        mark = cache.get(key)
        if not isinstance(mark, dict):
            return None
        if mark.get("state") == "done":
            return int(mark["at"])
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL)
