"""verify_audit's time and peak memory on a large audit log in moto.

    .venv/bin/python bench/audit_verify_bench.py --records 100000 --chains 50

Writes valid chains (MACs under the audit key) straight into moto's table,
then times `audit.verify()` with tracemalloc on: the peak is what verification
itself holds, which should stay flat as records grow (one page and one chain's
last MAC at a time), and grow only with the number of chains (their ids).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=50)
    args = parser.parse_args()
    os.environ.update(ENV)

    import django

    django.setup()
    from django.conf import settings
    from moto import mock_aws

    from tokens import audit, aws
    from tokens.bootstrap import _create_table

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
        ddb = aws.client("dynamodb")
        started = time.perf_counter()
        per_chain = args.records // args.chains
        at = datetime(2026, 1, 1, tzinfo=UTC)
        batch = []
        for c in range(args.chains):
            prev = audit.GENESIS
            for seq in range(per_chain):
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
                prev = entry["mac"]
                batch.append({"PutRequest": {"Item": audit._to_ddb(entry)}})
                if len(batch) == 25:
                    ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
                    batch = []
        if batch:
            ddb.batch_write_item(RequestItems={settings.VAULT_AUDIT_TABLE: batch})
        written = time.perf_counter() - started

        tracemalloc.start()
        started, cpu = time.perf_counter(), time.process_time()
        result = audit.verify()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result.ok, result.problem
    print(
        f"verify_audit: {result.records} records in {result.chains} chains: {seconds:.1f} s "
        f"({cpu:.1f} s CPU, tracemalloc on), "
        f"peak {peak / 2**20:.1f} MiB traced (writing them took {written:.0f} s)"
    )


if __name__ == "__main__":
    main()
