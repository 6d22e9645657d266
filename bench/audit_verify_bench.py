"""verify_audit's time and peak memory on a large audit log in moto.

    nice -n 10 .venv/bin/python bench/audit_verify_bench.py --records 1000000 --chains 100

Writes valid chains (MACs under the audit key) into moto's table, then times
`audit.verify()`: its time, and how far the process's peak RSS grew during it
(the seeded table is already resident; what verification holds is one page and
one chain's last MAC at a time, growing with the number of chains, not of
records; moto's own work per answer is included). `--trace` adds a pass under
tracemalloc (several times slower). Then a resumed run from the checkpoint of
that run, after one more record per chain.

Two shortcuts keep a million records within reach of one 2-core machine, and
both leave our code's path as it is on AWS (botocore request, botocore parse of
a DynamoDB JSON answer, our pagination and checks):
- seeding: the records are put straight into moto's in-process backend
  (`--seed api` writes them with batch_write_item instead, ~10 ms a record);
- answers: moto 5.2's generic response serializer costs ~20 ms per item (more
  than everything else together), so DynamoDB answers are written with
  json.dumps of the same result instead (`--moto-serializer` keeps moto's own).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {
    "DJANGO_SETTINGS_MODULE": "vaultsite.settings",
    "SECRET_KEY": "bench",
    "API_KEY_PEPPER": "bench",
    "AUDIT_HMAC_KEY": "bench",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "ap-southeast-2",
    "AWS_ENDPOINT_URL": "",
    "DATABASE_URL": "sqlite://:memory:",
}


def fast_dynamodb_answers() -> None:
    """Serialize moto's DynamoDB results with json.dumps (they are DynamoDB JSON already)."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        try:
            body = json.dumps(self.result)
        except TypeError:  # bytes, datetimes: moto's own serializer knows them
            return original(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mib() -> float:
    return _status("VmRSS")


def peak_rss() -> float:
    return _status("VmHWM")


def reset_peak_rss() -> float:
    """Reset the process's RSS high-water mark (Linux: clear_refs 5); the RSS now."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mib()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--seed", choices=["backend", "api"], default="backend")
    parser.add_argument("--moto-serializer", action="store_true")
    parser.add_argument("--trace", action="store_true", help="a second pass under tracemalloc (slow)")
    args = parser.parse_args()
    os.environ.update(ENV)

    import django

    django.setup()
    from django.conf import settings
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from tokens import audit, aws
    from tokens.bootstrap import _create_table

    if not args.moto_serializer:
        fast_dynamodb_answers()

    with mock_aws():
        _create_table(
            settings.VAULT_AUDIT_TABLE,
            {
                "AttributeDefinitions": [
                    {"AttributeName": "chain", "AttributeType": "S"},
                    {"AttributeName": "seq", "AttributeType": "N"},
                ],
                "KeySchema": [
                    {"AttributeName": "chain", "KeyType": "HASH"},
                    {"AttributeName": "seq", "KeyType": "RANGE"},
                ],
            },
        )
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION]
        ddb = aws.client("dynamodb")
        started = time.perf_counter()
        per_chain = args.records // args.chains
        at = datetime(2026, 1, 1, tzinfo=UTC)
        batch: list[dict[str, Any]] = []
        last: dict[str, dict[str, Any]] = {}

        def put(entry: dict[str, Any]) -> None:
            nonlocal batch
            item = audit._to_ddb(entry)
            if args.seed == "backend":
                backend.put_item(settings.VAULT_AUDIT_TABLE, item)
                return
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
                batch = []

        def record(c: int, seq: int, prev: str) -> dict[str, Any]:
            nonlocal at
            at += timedelta(milliseconds=1)
            entry = {
                "at": at.isoformat(timespec="microseconds"), "day": at.date().isoformat(),
                "actor": "bench", "actor_id": "client:1", "actor_type": "api_client",
                "action": "tokenize", "token_id": f"TKN-SYD-{c:08d}-{seq:012d}", "fields": ["pan"],
                "outcome": "success", "reason": "", "source_ip": "203.0.113.7", "user_agent": "bench",
                "request_id": f"r-{c}-{seq}", "region": "SYD", "channel": "api", "detail": "",
                "chain": f"SYD-{c:016d}", "seq": seq, "prev": prev, "key_id": "1",
            }  # fmt: skip
            entry["mac"] = audit.mac(entry)
            return entry

        for c in range(args.chains):
            prev = audit.GENESIS
            for seq in range(per_chain):
                entry = record(c, seq, prev)
                put(entry)
                prev = entry["mac"]
            last[f"SYD-{c:016d}"] = entry
        if batch:
            ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
        written = time.perf_counter() - started
        print(
            f"seeded {args.records} records ({args.seed}) in {written:.0f} s; RSS {rss_mib():.0f} MiB",
            flush=True,
        )

        def progress(records: int, chains: int) -> None:
            if chains % max(1, args.chains // 10) == 0:
                print(
                    f"  {records} records in {chains} chains, {time.perf_counter() - started:.0f} s",
                    flush=True,
                )

        gc.collect()
        baseline = reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        result = audit.verify(progress=progress)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.ok, result.problem
        print(
            f"verify_audit: {result.records} records in {result.chains} chains: "
            f"{seconds:.1f} s wall, {cpu:.1f} s CPU; peak RSS grew {peak_rss() - baseline:.0f} MiB "
            "during it (moto's answers included)",
            flush=True,
        )

        anchors: dict[str, audit.Anchor] = {}
        if args.trace:
            gc.collect()
            tracemalloc.start()
            started = time.perf_counter()
            traced = audit.verify(on_chain=lambda chain, anchor: anchors.__setitem__(chain, anchor))
            traced_seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert traced.ok, traced.problem
            print(
                f"  again with tracemalloc: peak {peak / 2**20:.1f} MiB allocated by the verification "
                f"(moto's answers included; {traced_seconds:.1f} s with tracing)",
                flush=True,
            )
        else:
            anchors = {chain: (entry["seq"], entry["mac"]) for chain, entry in last.items()}

        for c, (_chain, entry) in enumerate(sorted(last.items())):
            put(record(c, entry["seq"] + 1, entry["mac"]))
        if batch:
            ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        resumed = audit.verify(resume=anchors)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert resumed.ok, resumed.problem
        print(
            f"resumed from the checkpoint after one more record per chain: {resumed.records} records "
            f"read in {resumed.chains} chains, {seconds:.1f} s wall, {cpu:.1f} s CPU "
            "(the chain ids still come from a key-only scan of every record)"
        )


if __name__ == "__main__":
    main()
