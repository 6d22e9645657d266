"""verify_audit's time and peak memory on a large audit log in moto.

    nice -n 10 .venv/bin/python bench/audit_verify_bench.py --records 1000000 --chains 100 --server

Writes valid chains (MACs under the audit key) into moto's table, then times
`audit.verify()` and reports how far the verifying process's peak RSS grew
during it. With `--server`, moto runs in a child process on loopback, so that
figure is the verifier's alone (botocore included); in-process, moto's own
allocations while answering (it keeps copies of what it returned) are counted
too. `--trace` adds an in-process pass under tracemalloc (several times slower).
Then a resumed run from that run's anchors, after one more record per chain.

Two shortcuts keep a large log within reach of one 2-core machine, and both
leave our code's path as it is on AWS (botocore request, botocore parse of a
DynamoDB JSON answer, our pagination and checks):
- seeding: the records are put straight into moto's backend, in its own
  process (`--seed api` writes them with batch_write_item instead);
- answers: moto 5.2's generic response serializer costs ~20 ms per item (more
  than everything else together), so DynamoDB answers are written with
  json.dumps of the same result instead (`--moto-serializer` keeps moto's own).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
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
START = datetime(2026, 1, 1, tzinfo=UTC)


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


def make_record(audit: Any, c: int, seq: int, prev: str) -> dict[str, Any]:
    at = START + timedelta(milliseconds=c * 10_000_000 + seq)
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


def create_table(settings: Any) -> None:
    from tokens.bootstrap import _create_table

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


def seed(args: argparse.Namespace, settings: Any, audit: Any, aws: Any) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    create_table(settings)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION]
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for c in range(args.chains):
        prev = audit.GENESIS
        for seq in range(args.records // args.chains):
            entry = make_record(audit, c, seq, prev)
            prev = entry["mac"]
            if args.seed == "backend":
                backend.put_item(settings.VAULT_AUDIT_TABLE, audit._to_ddb(entry))
                continue
            batch.append({"PutRequest": {"Item": audit._to_ddb(entry)}})
            if len(batch) == 25:
                aws.client("dynamodb").batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
                batch = []
    if batch:
        aws.client("dynamodb").batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
    print(
        f"seeded {args.records} records ({args.seed}) in {time.perf_counter() - started:.0f} s; "
        f"moto's process RSS {rss_mib():.0f} MiB",
        flush=True,
    )


def measure(args: argparse.Namespace, settings: Any, audit: Any, aws: Any) -> None:
    ddb = aws.client("dynamodb")
    ddb.describe_table(TableName=settings.VAULT_AUDIT_TABLE)  # a built client, before the baseline
    anchors: dict[str, Any] = {}
    gc.collect()
    baseline = reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()

    def progress(records: int, chains: int) -> None:
        if chains % max(1, args.chains // 10) == 0:
            print(
                f"  {records} records in {chains} chains, {time.perf_counter() - started:.0f} s", flush=True
            )

    result = audit.verify(progress=progress, on_chain=anchors.__setitem__)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.ok, result.problem
    where = "the verifier's process" if args.server else "the process (moto's work included)"
    print(
        f"verify_audit: {result.records} records in {result.chains} chains: {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU in the verifier; peak RSS of {where} grew {peak_rss() - baseline:.0f} MiB "
        f"over {baseline:.0f} MiB",
        flush=True,
    )
    if args.trace and not args.server:
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        assert audit.verify().ok
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  under tracemalloc: peak {peak / 2**20:.1f} MiB ({time.perf_counter() - started:.1f} s)")

    more = []
    for chain, (seq, mac) in sorted(anchors.items()):
        more.append({"PutRequest": {"Item": audit._to_ddb(make_record(audit, int(chain[4:]), seq + 1, mac))}})
    for i in range(0, len(more), 25):
        ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: more[i : i + 25]})
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    resumed = audit.verify(resume=anchors)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert resumed.ok, resumed.problem
    print(
        f"resumed from those anchors after one more record per chain: {resumed.records} records "
        f"read in {resumed.chains} chains, {seconds:.1f} s wall, {cpu:.1f} s CPU "
        "(the chain ids still come from a key-only scan of every record)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--seed", choices=["backend", "api"], default="backend")
    parser.add_argument("--moto-serializer", action="store_true")
    parser.add_argument("--trace", action="store_true", help="an in-process pass under tracemalloc (slow)")
    parser.add_argument("--server", action="store_true", help="moto in a child process on loopback")
    parser.add_argument("--serve-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(ENV)
    child = None
    if args.server:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, __file__, *[a for a in sys.argv[1:] if a != "--server"]]
        serve = [*command, "--serve-port", str(port)]
        child = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            if line.startswith("seeded"):
                break
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"

    import django

    django.setup()
    from django.conf import settings
    from moto import mock_aws

    from tokens import audit, aws

    if args.server:
        try:
            measure(args, settings, audit, aws)
        finally:
            assert child is not None
            child.terminate()
        return
    if not args.moto_serializer:
        fast_dynamodb_answers()
    with mock_aws():
        if args.serve_port:
            from moto.server import ThreadedMotoServer

            ThreadedMotoServer(ip_address="127.0.0.1", port=args.serve_port, verbose=False).start()
            seed(args, settings, audit, aws)
            while True:
                time.sleep(60)
        seed(args, settings, audit, aws)
        measure(args, settings, audit, aws)


if __name__ == "__main__":
    main()
