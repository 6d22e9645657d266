"""verify_audit's time and peak memory on a large audit log in moto.

    nice -n 10 .venv/bin/python bench/audit_verify_bench.py --records 1000000 --chains 100 --server

Writes valid chains (MACs under the audit key) into moto's table, then times
`audit.verify()` and reports how far the verifying process's peak RSS grew
during it. With `--server`, moto runs in a child process on loopback, so that
figure is the verifier's alone (botocore included); in-process, moto's own
allocations while answering (it keeps copies of what it returned) are counted
too. `--trace` adds an in-process pass under tracemalloc (several times slower).
Then a run resumed from that run's signed checkpoint (tokens.audit_checkpoint),
after one more record per chain.

Three shortcuts keep a large log within reach of one 2-core machine, and all
leave our code's path as it is on AWS (botocore request, botocore parse of a
DynamoDB JSON answer, our pagination and checks) and moto's answers as they are:
- seeding: the records are put straight into moto's backend, in its own
  process (`--seed api` writes them with batch_write_item instead);
- answers: moto 5.2's generic response serializer costs ~20 ms per item (more
  than everything else together), so DynamoDB answers are written with
  json.dumps of the same result instead (`--moto-serializer` keeps moto's own);
- pages: moto 5.2 sorts and walks the whole table for every page of a Scan or
  Query, so reading n records costs it about n² (hours at 1,000,000);
  `linear_pages` hands its own code only the items after ExclusiveStartKey, the
  same pages in O(page) (tests/test_bench_harness.py compares them;
  `--moto-pages` keeps moto's own).
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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


@contextmanager
def linear_pages() -> Iterator[None]:
    """Make moto's Scan and Query pages cost O(page), not O(table), without changing them.

    moto 5.2 answers each page of a Scan by sorting the whole table and walking
    it from the start up to ExclusiveStartKey, and each page of a Query by
    walking the whole table for the partition's items: a 1 MB page at a time,
    reading n records costs about n²/page. Here each table keeps its sorted
    items between writes (any put or delete through Table drops them), and a
    page is handed moto's own `Table.scan`/`Table.query` with the items at or
    before ExclusiveStartKey already left out (a bisection), a Query with its
    partition's items only. moto's code then does what it always does with
    them: the same items, sizes, 1 MB limit, copies, projections and
    LastEvaluatedKey. Only a forward Scan or Query of a table with a sort key
    and no index takes this path; anything else is moto's own.
    """
    from moto.dynamodb.models.table import Table

    scan, query, put, delete = Table.scan, Table.query, Table.put_item, Table.delete_item
    lock = threading.Lock()  # the server answers on several threads; `all_items` is swapped per call

    def key(item: Any) -> tuple[Any, Any]:
        return (item.hash_key, item.range_key)

    def start_after(dct: dict[str, Any] | None, table: Any) -> tuple[Any, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        if dct is None:
            return None
        return (DynamoType(dct[table.hash_key_attr]), DynamoType(dct[table.range_key_attr]))

    caches: dict[int, tuple[Any, dict[Any, list[Any]]]] = {}  # for this installation only

    def sorted_items(table: Any) -> dict[Any, list[Any]]:
        held, cached = caches.get(id(table), (None, {}))
        if held is not table:
            cached = {None: Table.all_items(table)}  # moto's own order
            caches[id(table)] = (table, cached)
        return cached

    def forget(table: Any) -> None:
        caches.pop(id(table), None)

    def serve(table: Any, items: Any, call: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            table.all_items = lambda: items
            try:
                return call(table, *args, **kwargs)
            finally:
                del table.all_items

    def fast_scan(self: Any, filters: Any, limit: Any, start: Any, *args: Any, **kw: Any) -> Any:
        if self.range_key_attr is None or (args[1] if len(args) > 1 else kw.get("index_name")):
            return scan(self, filters, limit, start, *args, **kw)
        items = sorted_items(self)[None]
        after = start_after(start, self)
        first = 0 if after is None else bisect.bisect_right(items, after, key=key)
        return serve(self, itertools.islice(items, first, None), scan, filters, limit, start, *args, **kw)

    def fast_query(self: Any, hash_key: Any, comparison: Any, range_objs: Any, limit: Any,
                   start: Any, scan_index_forward: Any, *args: Any, **kw: Any) -> Any:  # fmt: skip
        given = (hash_key, comparison, range_objs, limit, start, scan_index_forward)
        index_name = args[1] if len(args) > 1 else kw.get("index_name")
        if self.range_key_attr is None or index_name or scan_index_forward is False or hash_key is None:
            return query(self, *given, *args, **kw)
        cached = sorted_items(self)
        if len(cached) == 1:  # each partition's items, in one pass (they are contiguous)
            for partition, found in itertools.groupby(cached[None], key=lambda item: item.hash_key):
                cached[partition] = list(found)
        items = cached.get(hash_key, [])
        after = start_after(start, self)
        first = 0 if after is None else bisect.bisect_right(items, after, key=key)
        return serve(self, items[first:], query, *given, *args, **kw)

    def put_item(self: Any, *args: Any, **kw: Any) -> Any:
        forget(self)
        return put(self, *args, **kw)

    def delete_item(self: Any, *args: Any, **kw: Any) -> Any:
        forget(self)
        return delete(self, *args, **kw)

    Table.scan, Table.query = fast_scan, fast_query  # type: ignore[method-assign,assignment]
    Table.put_item, Table.delete_item = put_item, delete_item  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.scan, Table.query, Table.put_item, Table.delete_item = scan, query, put, delete  # type: ignore[method-assign]


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
    from tokens import audit_checkpoint

    signed = audit_checkpoint.dumps(audit_checkpoint.merged(None, anchors))
    gc.collect()
    baseline = reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    resumed = audit.verify(resume=audit_checkpoint.loads(signed).chains)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert resumed.ok, resumed.problem
    print(
        f"resumed from that run's signed checkpoint ({len(signed) / 1024:.0f} KiB) after one more record "
        f"per chain: {resumed.records} records read in {resumed.chains} chains, {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU; peak RSS grew {peak_rss() - baseline:.0f} MiB "
        "(the chain ids still come from a key-only scan of every record)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--seed", choices=["backend", "api"], default="backend")
    parser.add_argument("--moto-serializer", action="store_true")
    parser.add_argument("--moto-pages", action="store_true", help="moto's own O(table) Scan and Query pages")
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
    with mock_aws(), linear_pages() if not args.moto_pages else nullcontext():
        if args.serve_port:
            from moto.server import ThreadedMotoServer

            ThreadedMotoServer(ip_address="127.0.0.1", port=args.serve_port, verbose=False).start()
            # moto's process only: its millions of long-lived objects are left out
            # of the garbage collector's passes (seeding, and answering, go faster).
            gc.disable()
            seed(args, settings, audit, aws)
            gc.freeze()
            gc.enable()
            while True:
                time.sleep(60)
        seed(args, settings, audit, aws)
        measure(args, settings, audit, aws)


if __name__ == "__main__":
    main()
