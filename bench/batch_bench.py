"""Batch against single API calls: per-record throughput, both directions, against moto in-process.

Through the JSON API (Django's test client, no network): N single tokenize and
detokenize calls, then the same N records in batches of 100, and the AWS calls
a 100-record batch makes. Then what search by value costs: tokenize with and
without its fingerprints, with deduplication and with aliases (interleaved
rounds, as ratios to the plain tokenize), and search latency beside detokenize's.
Last, singles against batches again with every hop over HTTP, as a client sees
them (bench/batch_over_http.py). Run: `make bench` (or .venv/bin/python
bench/batch_bench.py --n 200). Quote the ratios: absolute speeds are moto's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultsite.settings")
for name, value in {
    "SECRET_KEY": "bench", "API_KEY_PEPPER": "bench", "AUDIT_HMAC_KEY": "bench",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": "sqlite:///:memory:", "METRICS_SINK": "none", "VAULT_API_RATE_LIMIT": "1000000",
    "VAULT_SEARCH_RATE_LIMIT": "1000000", "ALLOWED_HOSTS": "testserver",
    # A 100-record batch against moto on a loaded machine can pass the default 8 s.
    "VAULT_REQUEST_BUDGET": "28",
}.items():  # fmt: skip
    os.environ.setdefault(name, value)
os.environ["AWS_ENDPOINT_URL"] = ""

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench import batch_over_http  # noqa: E402
from tests import emulator_speed  # noqa: E402
from tokens import aws, index, minting  # noqa: E402
from tokens.actors import PERMISSIONS  # noqa: E402
from tokens.bootstrap import bootstrap  # noqa: E402
from tokens.models import ApiClient  # noqa: E402

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0", "tax_file_number": "111 111 111"}


BATCH = 100


def calls_of(fn: Callable[[], Any]) -> dict[str, int]:
    seen: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        seen[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1

    clients = [aws.client("kms"), aws.client("dynamodb")]
    for c in clients:
        c.meta.events.register("before-call", hook)
    fn()
    for c in clients:
        c.meta.events.unregister("before-call", hook)
    return dict(sorted(seen.items()))


class Emulator:
    """Seconds spent inside moto answering AWS calls (its own costs, not AWS's).

    moto's TransactWriteItems deep-copies the whole table once per action for
    its rollback, so its cost grows with the table and with the transaction's
    size; real DynamoDB's does not. Rates are shown with and without it.
    """

    seconds = 0.0

    @classmethod
    @contextmanager
    def timed(cls) -> Iterator[None]:
        from moto.core.botocore_stubber import BotocoreStubber

        real = BotocoreStubber.__call__

        def timed_call(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real(self, *args, **kwargs)
            finally:
                cls.seconds += time.perf_counter() - started

        BotocoreStubber.__call__ = timed_call  # type: ignore[method-assign]
        try:
            yield
        finally:
            BotocoreStubber.__call__ = real  # type: ignore[method-assign]


def per_second(n: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """Records a second: wall clock, and without the time moto spent answering."""
    inside = Emulator.seconds
    started = time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    return n / wall, n / (wall - (Emulator.seconds - inside))


ROUNDS = 5
# What tokenize adds for search and deduplication, and what aliases add, on the seed's record.
VARIANTS: dict[str, dict[str, Any]] = {
    "tokenize without fingerprints (the index left out)": {},
    "tokenize (3 field fingerprints + the record's, in the same transaction)": {},
    "tokenize with deduplicate: true (a lookup first)": {"deduplicate": True},
    "tokenize with 2 same-format aliases (unique conditional writes)": {
        "aliases": {"drivers_license": "same-format", "tax_file_number": "same-format"}
    },
}


@contextmanager
def without_index() -> Iterator[None]:
    """Tokenize as before search existed: no fingerprint rows (field or record), only the
    token-list row every token has (bench only)."""
    rows = minting.rows
    minting.rows = lambda fields, now, token_id, creator, *rest: [index.Row.listing(now, token_id, creator)]
    try:
        yield
    finally:
        minting.rows = rows


def tokenize_costs(n: int, post: Callable[[str, Any], Any]) -> dict[str, tuple[float, float]]:
    """Records a second for each variant (wall, and without moto's own time), over
    interleaved rounds, so the machine's load and the tables' growth hit all alike."""
    spent = {name: [0.0, 0.0] for name in VARIANTS}
    each = max(1, n // ROUNDS)
    for round_ in range(ROUNDS):
        for number, (name, extra) in enumerate(VARIANTS.items()):
            # Distinct records, so deduplicate finds nothing and every call makes a token.
            bodies = [
                {"data": {**SEED, "drivers_license": f"{round_}{number}{i:07d}"}, **extra}
                for i in range(each)
            ]
            inside = Emulator.seconds
            started = time.perf_counter()
            with without_index() if number == 0 else nullcontext():
                for body in bodies:
                    post("/api/v1/tokens", body)
            wall = time.perf_counter() - started
            spent[name][0] += wall
            spent[name][1] += wall - (Emulator.seconds - inside)
    return {name: (each * ROUNDS / wall, each * ROUNDS / vault) for name, (wall, vault) in spent.items()}


def latencies(n: int, post: Callable[[str, Any], Any], token: str) -> dict[str, list[tuple[float, float]]]:
    """Milliseconds per call (wall, and without moto's own time) of a search that finds
    one token, one that finds none, and a detokenize."""
    search = "/api/v1/tokens/search"
    calls = {
        "search, 1 token found": (search, {"field": "drivers_license", "value": "L-SEARCHED"}),
        "search, none found": (search, {"field": "drivers_license", "value": "L-ABSENT"}),
        "detokenize (for comparison)": ("/api/v1/detokenize", {"tokenId": token}),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(n):
        for name, (path, body) in calls.items():
            inside = Emulator.seconds
            started = time.perf_counter()
            post(path, body)
            wall = time.perf_counter() - started
            times[name].append((wall * 1000, (wall - (Emulator.seconds - inside)) * 1000))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="records per row (a multiple of 100)")
    n = max(BATCH, parser.parse_args().n // BATCH * BATCH)
    emulator_speed.copy_each_table_once()  # moto backs a table up once per action otherwise
    with mock_aws(), Emulator.timed():
        kms = aws.client("kms")
        kms.create_alias(AliasName="alias/tokenizer", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        call_command("migrate", verbosity=0)
        bootstrap()
        _, key = ApiClient.issue("bench", list(PERMISSIONS))
        http = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

        def post(path: str, body: Any) -> Any:
            response = http.post(path, json.dumps(body), content_type="application/json")
            assert response.status_code in (200, 201), response.content
            return response.json()

        singles: list[str] = []
        batched: list[str] = []
        records = [{"data": SEED}] * BATCH

        def tokenize_singles() -> None:
            singles.extend(post("/api/v1/tokens", {"data": SEED})["tokenId"] for _ in range(n))

        def tokenize_batches() -> None:
            for _ in range(n // BATCH):
                batched.extend(
                    r["tokenId"] for r in post("/api/v1/tokens/batch", {"records": records})["results"]
                )

        def detokenize_singles() -> None:
            for token in singles:
                post("/api/v1/detokenize", {"tokenId": token})

        def detokenize_batches() -> None:
            for start in range(0, n, BATCH):
                tokens = [{"tokenId": t} for t in batched[start : start + BATCH]]
                assert all(
                    "data" in r for r in post("/api/v1/detokenize/batch", {"tokens": tokens})["results"]
                )

        rates = {
            "tokenize": (per_second(n, tokenize_singles), per_second(n, tokenize_batches)),
            "detokenize": (per_second(n, detokenize_singles), per_second(n, detokenize_batches)),
        }
        calls = {
            "tokenize batch of 100": calls_of(lambda: post("/api/v1/tokens/batch", {"records": records})),
            "detokenize batch of 100": calls_of(
                lambda: post(
                    "/api/v1/detokenize/batch", {"tokens": [{"tokenId": t} for t in batched[:BATCH]]}
                )
            ),
        }
        costs = tokenize_costs(n, post)
        token = post("/api/v1/tokens", {"data": {**SEED, "drivers_license": "L-SEARCHED"}})["tokenId"]
        searched = post("/api/v1/tokens/search", {"field": "drivers_license", "value": "L-SEARCHED"})
        assert [t["tokenId"] for t in searched["tokens"]] == [token]
        times = latencies(n // 2, post, token)
    python = sys.version.split()[0]
    mode = settings.VAULT_KEY_MODE
    print(
        f"{n} records per row, batches of {BATCH}, JSON API, key mode {mode}, "
        f"moto in-process, Python {python}\n"
    )
    print(
        "| direction | single calls, records/s | batches, records/s | batch / single "
        "| without moto's own time: single | batches | batch / single |\n|---|---|---|---|---|---|---|"
    )
    for direction, ((single, single_vault), (batch, batch_vault)) in rates.items():
        print(
            f"| {direction} | {single:.0f} | {batch:.0f} | {batch / single:.1f}x "
            f"| {single_vault:.0f} | {batch_vault:.0f} | {batch_vault / single_vault:.1f}x |"
        )
    print("\n| request | AWS calls |\n|---|---|")
    for name, c in calls.items():
        print(f"| {name} | {', '.join(f'{k} x{v}' for k, v in c.items())} |")
    plain, plain_vault = next(iter(costs.values()))
    print(f"\n{n} single tokenize calls per variant, {ROUNDS} interleaved rounds\n")
    print(
        "| variant | records/s | vs without fingerprints | without moto's own time: records/s | vs without "
        "fingerprints |\n|---|---|---|---|---|"
    )
    for name, (rate, vault_rate) in costs.items():
        ratio, vault_ratio = rate / plain, vault_rate / plain_vault
        print(f"| {name} | {rate:.0f} | {ratio:.2f}x | {vault_rate:.0f} | {vault_ratio:.2f}x |")
    print(f"\n{n // 2} calls each, interleaved, over {2 * n + 5 * n // ROUNDS * ROUNDS} tokens\n")
    print(
        "| call | median ms | p95 ms | without moto's own time: median ms | p95 ms |\n|---|---|---|---|---|"
    )
    for name, pairs in times.items():
        cells = []
        for ms in ([wall for wall, _ in pairs], [inside for _, inside in pairs]):
            cells += [f"{statistics.median(ms):.1f}", f"{statistics.quantiles(ms, n=20)[-1]:.1f}"]
        print(f"| {name} | {' | '.join(cells)} |")
    print()
    print(batch_over_http.table(n))


if __name__ == "__main__":
    main()
