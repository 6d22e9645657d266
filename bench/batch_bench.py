"""Batch against single API calls: per-record throughput, both directions, against moto in-process.

Through the JSON API (Django's test client, no network): N single tokenize and
detokenize calls, then the same N records in batches of 100, and the AWS calls
a 100-record batch makes. Run: `make bench` (or .venv/bin/python
bench/batch_bench.py --n 500). Quote the ratio: absolute speeds are moto's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultsite.settings")
for name, value in {
    "SECRET_KEY": "bench", "API_KEY_PEPPER": "bench", "AUDIT_HMAC_KEY": "bench",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": "sqlite:///:memory:", "METRICS_SINK": "none", "VAULT_API_RATE_LIMIT": "1000000",
    "ALLOWED_HOSTS": "testserver",
}.items():  # fmt: skip
    os.environ.setdefault(name, value)
os.environ["AWS_ENDPOINT_URL"] = ""

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from tokens import aws  # noqa: E402
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


def per_second(n: int, fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="records per row (a multiple of 100)")
    n = max(BATCH, parser.parse_args().n // BATCH * BATCH)
    with mock_aws():
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
    python = sys.version.split()[0]
    print(f"{n} records per row, batches of {BATCH}, JSON API, moto in-process, Python {python}\n")
    print("| direction | single calls, records/s | batches, records/s | batch / single |\n|---|---|---|---|")
    for direction, (single, batch) in rates.items():
        print(f"| {direction} | {single:.0f} | {batch:.0f} | {batch / single:.1f}x |")
    print("\n| request | AWS calls |\n|---|---|")
    for name, c in calls.items():
        print(f"| {name} | {', '.join(f'{k} x{v}' for k, v in c.items())} |")


if __name__ == "__main__":
    main()
