"""Tokenize/detokenize throughput and latency, against moto in-process.

Measures two ways in: direct vault calls and the JSON API (Django's test
client, so no network), and counts the AWS calls each operation makes.
Run: `make bench` (or .venv/bin/python bench/vault_bench.py --n 300).
The emulator's own cost dominates; read the figures as the vault's overhead
plus moto, not as AWS latency.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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

from tokens import aws, vault  # noqa: E402
from tokens.actors import PERMISSIONS, Actor, RequestContext  # noqa: E402
from tokens.bootstrap import bootstrap  # noqa: E402
from tokens.models import ApiClient  # noqa: E402

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0", "tax_file_number": "111 111 111"}


def timed(n: int, fn: Callable[[int], Any]) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "ops_per_s": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))], 2),
    }


def calls_per_op(fn: Callable[[], Any]) -> dict[str, int]:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    n = args.n
    with mock_aws():
        kms = aws.client("kms")
        kms.create_alias(AliasName="alias/tokenizer", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        call_command("migrate", verbosity=0)
        bootstrap()
        actor = Actor("api_client", "bench", "bench", frozenset(PERMISSIONS))
        ctx = RequestContext(channel="cli")
        _, key = ApiClient.issue("bench", list(PERMISSIONS))
        http = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

        direct_tokens: list[str] = []
        results: dict[str, Any] = {}

        def direct_tokenize(i: int) -> None:
            direct_tokens.append(vault.tokenize(actor, ctx, SEED).token_id)

        results["direct tokenize"] = timed(n, direct_tokenize)
        results["direct detokenize"] = timed(n, lambda i: vault.detokenize(actor, ctx, direct_tokens[i]))
        api_tokens: list[str] = []
        body = json.dumps({"data": SEED})
        results["API tokenize"] = timed(
            n,
            lambda i: api_tokens.append(
                http.post("/api/v1/tokens", body, content_type="application/json").json()["tokenId"]
            ),
        )
        results["API detokenize"] = timed(
            n,
            lambda i: http.post(
                "/api/v1/detokenize", json.dumps({"tokenId": api_tokens[i]}), content_type="application/json"
            ),
        )
        calls = {
            "tokenize (direct)": calls_per_op(lambda: vault.tokenize(actor, ctx, SEED)),
            "detokenize (direct)": calls_per_op(lambda: vault.detokenize(actor, ctx, direct_tokens[0])),
            "tokenize (API)": calls_per_op(
                lambda: http.post("/api/v1/tokens", body, content_type="application/json")
            ),
            "detokenize (API)": calls_per_op(
                lambda: http.post(
                    "/api/v1/detokenize", json.dumps({"tokenId": api_tokens[0]}), "application/json"
                )
            ),
        }
    print(f"n = {n} per row, moto in-process, Python {sys.version.split()[0]}\n")
    print("| path | ops/s | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['ops_per_s']} | {r['p50_ms']} | {r['p99_ms']} |")
    print("\n| operation | AWS calls |\n|---|---|")
    for name, c in calls.items():
        print(f"| {name} | {', '.join(f'{k} x{v}' for k, v in c.items())} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the benchmark process (vault + moto + {4 * n} tokens): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
