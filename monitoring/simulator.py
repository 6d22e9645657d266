"""Traffic for demos and tests: drive the real JSON API over HTTP the way the
seed's test plan does, or backfill a baseline straight into the local store.
"""

from __future__ import annotations

import json
import math
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from monitoring import store
from monitoring.models import CallerBucket

# Made-up values in the shape of the seed's test event; nothing real.
DEMO_DATA = {"drivers_license": "987654321", "medicare_card": "1234 56789 0"}


class SimulatorError(Exception):
    pass


class VaultClient:
    """A minimal client for the vault's JSON API (standard library only)."""

    def __init__(self, url: str, key: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's own vault)
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"null")
            except ValueError:
                return exc.code, None
        except (urllib.error.URLError, OSError) as exc:
            raise SimulatorError(f"cannot reach {self.url}: {exc}") from None

    def tokenize(self) -> str:
        status, body = self.post("/api/v1/tokens", {"data": DEMO_DATA})
        if status != 201:
            code = (body or {}).get("error", {}).get("code", "?") if isinstance(body, dict) else "?"
            raise SimulatorError(
                f"tokenize answered {status} ({code}); does the key have the tokenize scope?"
            )
        return str(body["tokenId"])

    def detokenize(self, token_id: str) -> int:
        status, _ = self.post("/api/v1/detokenize", {"tokenId": token_id})
        return status


def baseline(
    client: VaultClient, minutes: int, interval: float, sleep: Callable[[float], None] = time.sleep
) -> Counter[str]:
    """One write and one read of a known token per tick (the seed's two EventBridge schedules)."""
    seen: Counter[str] = Counter()
    known = client.tokenize()
    for n in range(minutes):
        started = time.monotonic()
        client.tokenize()
        seen["tokenize 201"] += 1
        seen[f"detokenize {client.detokenize(known)}"] += 1
        if n + 1 < minutes:
            sleep(max(0.0, interval - (time.monotonic() - started)))
    return seen


def read_loop(client: VaultClient, count: int, token_id: str = "") -> Counter[str]:
    """The seed's scraper: `count` reads of one known token, as fast as they go."""
    token_id = token_id or client.tokenize()
    return Counter(f"detokenize {client.detokenize(token_id)}" for _ in range(count))


def enumeration(client: VaultClient, count: int, region: str, token_id: str = "") -> Counter[str]:
    """The seed's enumeration: `count` reads of tokens that do not exist (well-formed
    random ids, or one given id such as the seed's "zzzz")."""
    ids = (token_id or f"TKN-{region}-{uuid.uuid4()}" for _ in range(count))
    return Counter(f"detokenize {client.detokenize(t)}" for t in ids)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# Per minute: the seed's schedules (1 write, 1 read) plus a little organic traffic.
BACKFILL_RATES = {
    ("tokenize", "success"): (1, 0.5),
    ("detokenize", "success"): (1, 1.0),
    ("detokenize", "not_found"): (0, 0.05),
    ("metadata", "success"): (0, 0.1),
}


def backfill_rows(
    region: str, start: int, end: int, seed: int
) -> Iterator[tuple[str, str, str, int, int, float]]:
    rng = random.Random(seed)
    for minute in range(store.minute_of(start), end, 60):
        for (operation, outcome), (fixed, extra) in BACKFILL_RATES.items():
            count = fixed + _poisson(rng, extra)
            if count:
                latency = sum(rng.lognormvariate(math.log(25), 0.3) for _ in range(count))
                yield region, operation, outcome, minute, count, latency


def backfill(region: str, hours: float, now: float | None = None, seed: int = 7) -> tuple[int, int]:
    """Fill the `hours` before the current minute with baseline traffic; minutes that
    already hold data for the region are left alone. Returns (minutes filled, rows)."""
    end = store.minute_of(time.time() if now is None else now)
    start = end - int(hours * 3600) // 60 * 60
    taken = store.minutes_with_data(region, start, end)
    rows = [row for row in backfill_rows(region, start, end, seed) if row[3] not in taken]
    store.add_many(rows)
    return len({row[3] for row in rows}), len(rows)


def backfill_caller(
    region: str, caller: str, hours: float, now: float | None = None, seed: int = 7, rate: float = 1.0
) -> int:
    """Fill the `hours` before the current minute with one caller's calm reads (Poisson,
    `rate` a minute), so its own band is learned; minutes where the caller already has
    counts are left alone. Returns the minutes filled."""
    rng = random.Random(seed)
    end = store.minute_of(time.time() if now is None else now)
    start = end - int(hours * 3600) // 60 * 60
    taken = set(
        CallerBucket.objects.filter(
            region=region, caller=caller, minute__gte=start, minute__lt=end
        ).values_list("minute", flat=True)
    )
    rows = [
        (region, caller, "reads", minute, n)
        for minute in range(start, end, 60)
        if minute not in taken and (n := _poisson(rng, rate))
    ]
    store.add_caller_many(rows)
    return (end - start) // 60 - len(taken)
