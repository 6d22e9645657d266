"""What the honeytoken check adds to an operation on a token, against moto in-process.

- the per-process read of the decoy set (one Query, once per VAULT_DECOY_CACHE_SECONDS),
  for a set of --decoys rows: time, pages and bytes;
- one check (an HMAC of the token id, a set lookup), on its own;
- metadata and detokenize through the vault functions with no decoy table
  rows against --decoys rows: the request path's added cost.

Run: .venv/bin/python bench/honeytoken_bench.py [--decoys 1000] [--n 300].
Absolute speeds are moto's; quote the check's own cost and the differences.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultsite.settings")
for name, value in {
    "SECRET_KEY": "bench", "API_KEY_PEPPER": "bench", "AUDIT_HMAC_KEY": "bench",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": "sqlite:///:memory:", "METRICS_SINK": "none", "ALLOWED_HOSTS": "testserver",
}.items():  # fmt: skip
    os.environ.setdefault(name, value)
os.environ["AWS_ENDPOINT_URL"] = ""

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from moto import mock_aws  # noqa: E402

from tokens import aws, honeytokens, vault  # noqa: E402
from tokens.actors import Actor, RequestContext  # noqa: E402
from tokens.bootstrap import bootstrap  # noqa: E402

ACTOR = Actor("system", "bench", "bench", frozenset({"tokenize", "detokenize", "metadata"}))
CTX = RequestContext(channel="cli")


def per_call_ms(fn: object, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decoys", type=int, default=1000)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with mock_aws():
        kms = aws.client("kms")
        key = kms.create_key(Description="bench")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/tokenizer", TargetKeyId=key)
        settings.VAULT_KMS_KEY = "alias/tokenizer"
        bootstrap()
        token = vault.tokenize(ACTOR, CTX, {"card_number": "4973172240660003", "cvc": "123"}).token_id
        figures: dict[str, object] = {"decoys": args.decoys, "n": args.n}

        def ops(table: str, n: int) -> tuple[float, float]:
            settings.VAULT_DECOY_TABLE = table
            honeytokens.forget()
            vault.metadata(ACTOR, CTX, token)  # the set is read here, once
            return (
                per_call_ms(lambda: vault.metadata(ACTOR, CTX, token), n),
                per_call_ms(lambda: vault.detokenize(ACTOR, CTX, token), n),
            )

        decoy_table = settings.VAULT_DECOY_TABLE
        planted = honeytokens.plant(ACTOR, CTX, 10, ["card_number", "cvc"])
        key_id, _ = settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")
        client = aws.client("dynamodb")
        for i in range(args.decoys - len(planted)):  # the rest of the set: rows as plant writes them
            mark = honeytokens.mark(f"TKN-SYD-bench-{i}", key_id)
            row = {"pk": {"S": honeytokens.DECOYS}, "sk": {"S": mark}, "key_id": {"S": key_id}}
            client.put_item(TableName=decoy_table, Item=row)
        # The same schema, no rows: the operations without any decoy to check against.
        empty = decoy_table + "-empty"
        spec = client.describe_table(TableName=decoy_table)["Table"]
        client.create_table(
            TableName=empty,
            KeySchema=spec["KeySchema"],
            AttributeDefinitions=spec["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
        pages = client.query(
            TableName=decoy_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": honeytokens.DECOYS}},
        )
        figures["set_read"] = {
            "first_page_rows": pages["Count"],
            "more_pages": "LastEvaluatedKey" in pages,
            "json_bytes": len(json.dumps(pages["Items"])),
            "moto_ms": round(per_call_ms(lambda: (honeytokens.forget(), honeytokens.is_decoy(token)), 10), 1),
        }
        honeytokens.is_decoy(token)
        figures["one_check_us"] = round(per_call_ms(lambda: honeytokens.is_decoy(token), 20000) * 1000, 2)
        # Alternating rounds, so moto's own drift (its tables grow) weighs on both alike.
        rounds: dict[str, list[tuple[float, float]]] = {"no_decoys": [], "with_decoys": []}
        for _ in range(4):
            rounds["no_decoys"].append(ops(empty, args.n // 4))
            rounds["with_decoys"].append(ops(decoy_table, args.n // 4))
        for name, got in rounds.items():
            figures[name] = {
                "metadata_ms": round(statistics.median(m for m, _ in got), 2),
                "detokenize_ms": round(statistics.median(d for _, d in got), 2),
            }
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
