"""verify_audit --against-copy: the write-once copy (S3 with Object Lock, fed by
the audit table's Kinesis stream through Firehose) shows what was deleted from
the table, and the table shows what never reached the copy."""

from __future__ import annotations

import gzip
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import make_api
from tokens import audit, aws

BUCKET = "token-vault-audit-copy-123456789012-ap-southeast-2"


def change(item: dict[str, Any], event: str = "INSERT") -> dict[str, Any]:
    """One change as Kinesis Data Streams for DynamoDB writes it (and Firehose passes it on)."""
    image = "OldImage" if event == "REMOVE" else "NewImage"
    return {
        "awsRegion": "ap-southeast-2",
        "eventID": str(uuid.uuid4()),
        "eventName": event,
        "userIdentity": None,
        "recordFormat": "application/json",
        "tableName": "vault-audit",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764409812345,
            "Keys": {"chain": item["chain"], "seq": item["seq"]},
            image: item,
            "SizeBytes": len(json.dumps(item)),
        },
        "eventSource": "aws:dynamodb",
    }


def table_items(settings: Any) -> list[dict[str, Any]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=settings.VAULT_AUDIT_TABLE)
    return sorted((i for p in pages for i in p["Items"]), key=lambda i: (i["chain"]["S"], int(i["seq"]["N"])))


def firehose_object(changes: list[dict[str, Any]]) -> bytes:
    """What Firehose delivers: GZIP of the changes, one JSON document per line."""
    return gzip.compress(b"".join(json.dumps(c).encode() + b"\n" for c in changes))


@pytest.fixture
def api(db: Any) -> Any:
    return make_api(["tokenize"], "svc")


def write_chains(api: Any, chains: int, each: int) -> None:
    for n in range(chains):
        audit.reset_writer()
        for m in range(each):
            api.tokenize({"pan": f"{n}{m}"})


@pytest.fixture
def bucket() -> Any:
    # Object Lock in compliance mode, as infra/cfn/audit-copy.yaml makes it.
    s3 = aws.client("s3")
    s3.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}},
        },
    )
    return s3


def deliver(s3: Any, changes: list[dict[str, Any]], n: int = 0) -> None:
    key = f"audit/2026/11/29/token-vault-syd-audit-copy-1-2026-11-29-09-{n:02d}-00-{uuid.uuid4()}.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=firehose_object(changes))


def copy_everything(s3: Any, settings: Any) -> None:
    items = table_items(settings)
    half = len(items) // 2  # two deliveries, as Firehose buffers
    deliver(s3, [change(i) for i in items[:half]], 0)
    deliver(s3, [change(i) for i in items[half:]], 1)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def delete(settings: Any, chain: str, seq: int) -> None:
    aws.client("dynamodb").delete_item(
        TableName=settings.VAULT_AUDIT_TABLE, Key={"chain": {"S": chain}, "seq": {"N": str(seq)}}
    )


S3 = f"s3://{BUCKET}/audit/"


def test_the_bucket_refuses_to_delete_a_copied_object(api: Any, bucket: Any, settings: Any) -> None:
    write_chains(api, 1, 1)
    copy_everything(bucket, settings)
    key = bucket.list_object_versions(Bucket=BUCKET)["Versions"][0]
    with pytest.raises(bucket.exceptions.ClientError, match="AccessDenied"):
        bucket.delete_object(Bucket=BUCKET, Key=key["Key"], VersionId=key["VersionId"])


def test_a_log_and_its_copy_agree(api: Any, bucket: Any, settings: Any) -> None:
    write_chains(api, 3, 2)
    copy_everything(bucket, settings)
    out = run("--against-copy", S3)
    assert "audit log intact: 6 records in 3 chains" in out
    assert "audit copy agrees: 6 changes in 2 objects, 3 chains" in out


def test_a_whole_chain_deleted_from_the_log_is_caught(api: Any, bucket: Any, settings: Any) -> None:
    write_chains(api, 3, 2)
    copy_everything(bucket, settings)
    chain = audit.chain_ids()[1]
    for seq in (0, 1):
        delete(settings, chain, seq)
    assert "audit log intact: 4 records in 2 chains" in run()  # the table alone looks fine
    with pytest.raises(CommandError) as caught:
        run("--against-copy", S3)
    assert str(caught.value) == (
        f"audit log and its copy DIFFER: chains in the copy, not in the log: {chain} (2 records)"
    )


def test_a_tail_deleted_from_the_log_is_caught(api: Any, bucket: Any, settings: Any) -> None:
    write_chains(api, 2, 4)
    copy_everything(bucket, settings)
    chain = audit.chain_ids()[0]
    for seq in (2, 3):
        delete(settings, chain, seq)
    with pytest.raises(CommandError) as caught:
        run("--against-copy", S3)
    assert str(caught.value) == (
        f"audit log and its copy DIFFER: records in the copy, deleted from the log: chain {chain} records 2-3"
    )


def test_records_not_in_the_copy_are_pending_within_the_lag_and_reported_after_it(
    api: Any, bucket: Any, settings: Any
) -> None:
    write_chains(api, 2, 2)
    copy_everything(bucket, settings)
    before = set(audit.chain_ids())
    write_chains(api, 1, 3)  # not delivered yet
    (late,) = set(audit.chain_ids()) - before
    assert "audit copy agrees: 4 changes in 2 objects, 2 chains, 3 newer records not copied yet" in run(
        "--against-copy", S3
    )
    with pytest.raises(
        CommandError,
        match=f"records older than 0:00:00 in the log, not in the copy: chain {late} records 0-2",
    ):
        run("--against-copy", S3, "--lag", "0")


def test_a_removal_the_copy_saw_is_reported(api: Any, bucket: Any, settings: Any) -> None:
    write_chains(api, 1, 3)
    copy_everything(bucket, settings)
    (chain,) = audit.chain_ids()
    removed = table_items(settings)[1]
    deliver(bucket, [change(removed, "REMOVE")], 2)
    with pytest.raises(CommandError, match=f"records the copy saw deleted: chain {chain} record 1"):
        run("--against-copy", S3)


def test_a_copy_in_a_directory_and_without_delimiters_reads_too(
    api: Any, tmp_path: Path, settings: Any
) -> None:
    write_chains(api, 2, 2)
    items = table_items(settings)
    day = tmp_path / "audit" / "2026" / "11" / "29"
    day.mkdir(parents=True)
    (day / "a").write_bytes(b"".join(json.dumps(change(i)).encode() for i in items))  # back to back
    settings.VAULT_AUDIT_COPY = str(tmp_path)
    assert "audit copy agrees: 4 changes in 1 objects, 2 chains" in run("--against-copy")
    delete(settings, audit.chain_ids()[0], 1)
    with pytest.raises(CommandError, match="deleted from the log"):
        run("--against-copy")


def test_against_copy_without_a_location_says_so(api: Any, settings: Any) -> None:
    settings.VAULT_AUDIT_COPY = ""
    with pytest.raises(CommandError, match="name a location, or set VAULT_AUDIT_COPY"):
        run("--against-copy")


def test_a_resumed_run_compares_with_the_copy_too(
    api: Any, bucket: Any, settings: Any, tmp_path: Path
) -> None:
    write_chains(api, 2, 3)
    copy_everything(bucket, settings)
    where = str(tmp_path / "checkpoint.json")
    run("--checkpoint", where, "--against-copy", S3)
    chain = audit.chain_ids()[0]
    delete(settings, chain, 2)
    delete(settings, chain, 1)
    with pytest.raises(CommandError, match="in the checkpoint, missing from the log"):
        run("--checkpoint", where, "--against-copy", S3)


def test_the_copy_summary_holds_one_entry_per_chain(api: Any, bucket: Any, settings: Any) -> None:
    from tokens import audit_copy

    write_chains(api, 2, 5)
    copy_everything(bucket, settings)
    copy = audit_copy.read(S3)
    assert copy.changes == 10 and len(copy.chains) == 2
    assert {seq for seq, _ in copy.chains.values()} == {4}
    found = audit_copy.compare(copy, {}, timedelta(0), datetime.now(UTC))
    assert found.problems[0].startswith("chains in the copy, not in the log")
