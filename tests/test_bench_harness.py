"""`make bench` keeps working: the harness runs end to end with a tiny N.

Nothing here is timed: the figures' values are the bench's business, these
tests only check that every figure is measured and judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb.models import table as moto_table

from bench import audit_verify_bench
from bench.awscalls import _table_names
from bench.figures import Figure
from tokens import audit, aws

ROOT = Path(__file__).resolve().parent.parent


def test_a_figure_meets_an_upper_bound() -> None:
    assert Figure("x", 1.1, target="≤ 1.15").verdict == "PASS"


def test_a_figure_misses_an_upper_bound() -> None:
    assert Figure("x", 1.2, target="≤ 1.15").verdict == "MISS"


def test_a_figure_meets_a_lower_bound() -> None:
    assert Figure("x", 6.0, target="≥ 6").verdict == "PASS"


def test_a_figure_not_measured_is_a_miss() -> None:
    assert Figure("x", None, target="≥ 6").verdict == "MISS"


def test_a_figure_without_target_has_no_verdict() -> None:
    assert Figure("x", 3.0, unit="ms").verdict == ""


def test_dynamodb_calls_are_attributed_to_every_table_they_touch() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "items", "Item": {}}},
            {"Put": {"TableName": "audit", "Item": {}}},
        ]
    }
    assert _table_names(params) == {"items", "audit"}
    assert _table_names({"RequestItems": {"items": {}, "keys": {}}}) == {"items", "keys"}
    assert _table_names({"TableName": "clients", "Key": {}}) == {"clients"}


def vault_bench(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "bench/vault_bench.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_in_process_bench_runs_end_to_end() -> None:
    done = vault_bench("--n", "1", "--only", "throughput,aws_calls")
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    measured = {row.split(" | ")[0].lstrip("| ") for row in rows if " | PASS |" in row or " | MISS |" in row}
    for name in (
        "direct vault vs seed per-invocation code, tokenize",
        "JSON API vs direct vault, CPU time per detokenize",
        "DynamoDB calls per change expiry",
        "KMS calls per tokenize",
        "DynamoDB calls per API request for the API key",
    ):
        assert any(row.startswith(name) for row in measured), done.stdout
    assert "| tokenize (direct) | " in done.stdout


def test_the_over_http_section_runs_end_to_end() -> None:
    done = vault_bench("--n", "2", "--only", "over_http")
    judged = [line for line in done.stdout.splitlines() if " | PASS |" in line or " | MISS |" in line]
    assert len(judged) == 2 and all("over HTTP to moto's server" in line for line in judged), done.stdout


def test_the_bench_emulator_keeps_its_connections_and_each_answer_is_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bench/emulator_server.py serves keep-alive: many calls, one TCP connection, and no
    request eaten by werkzeug's after-answer drain (which would hang the next call)."""
    import socket

    import boto3
    import botocore.config

    from bench.coldstart import moto_server

    with moto_server() as endpoint:
        ddb = boto3.client(
            "dynamodb", region_name="ap-southeast-2", endpoint_url=endpoint,
            aws_access_key_id="x", aws_secret_access_key="x",
            config=botocore.config.Config(read_timeout=5, retries={"total_max_attempts": 1}),
        )  # fmt: skip
        ddb.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        )  # fmt: skip
        connects = []
        connect = socket.socket.connect
        monkeypatch.setattr(
            socket.socket,
            "connect",
            lambda sock, address: (connects.append(address), connect(sock, address))[1],
        )
        for i in range(30):
            ddb.put_item(TableName="t", Item={"k": {"S": f"k{i}"}, "v": {"N": str(i)}})
            assert ddb.get_item(TableName="t", Key={"k": {"S": f"k{i}"}})["Item"]["v"] == {"N": str(i)}
        assert connects == []  # 60 calls on the connection create_table opened


def test_the_batch_benchs_baseline_leaves_out_the_fingerprints_and_only_them(
    full_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/batch_bench.py's "without fingerprints" variant patches how a token's rows
    are made: it must still find that seam (a refactor once broke `make bench` here)."""
    from django.conf import settings

    from tokens import index

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the bench's module sets env defaults
    from bench.batch_bench import without_index

    def rows_of(token_id: str) -> list[str]:
        items = aws.client("dynamodb").scan(TableName=settings.VAULT_INDEX_TABLE)["Items"]
        return [i["fp"]["S"] for i in items if token_id in i["sk"]["S"]]

    with without_index():
        bare = full_api.post("/api/v1/tokens", {"data": {"drivers_license": "987654321"}}).json()["tokenId"]
    full = full_api.post("/api/v1/tokens", {"data": {"drivers_license": "987654321"}}).json()["tokenId"]
    assert [fp[: len(index.LISTING)] for fp in rows_of(bare)] == [index.LISTING]
    assert len(rows_of(full)) == 3  # the field's fingerprint, the record's, the listing
    assert full_api.post("/api/v1/detokenize", {"tokenId": bare}).status_code == 200


# --- bench/audit_verify_bench.py: moto's Scan and Query pages, made linear ------------------------


@pytest.fixture
def audit_log(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """200 valid records in 4 chains, and pages of a few records each (moto's 1 MB
    made 4 KB), so every read below takes many pages."""
    monkeypatch.setattr(moto_table, "RESULT_SIZE_LIMIT", 4000)
    client = aws.client("dynamodb")
    written = []
    for c in range(4):
        prev = audit.GENESIS
        for seq in range(50):
            entry = audit_verify_bench.make_record(audit, c, seq, prev)
            client.put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(entry))
            written.append(entry)
            prev = entry["mac"]
    return written


def _pages(operation: str, **kwargs: Any) -> list[tuple[list[Any], Any]]:
    """Every page moto answers, as (Items, LastEvaluatedKey)."""
    call = getattr(aws.client("dynamodb"), operation)
    pages, start = [], None
    while True:
        page = call(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        start = page.get("LastEvaluatedKey")
        pages.append((page["Items"], start))
        if start is None:
            return pages


def _reads(table: str) -> list[list[tuple[list[Any], Any]]]:
    chain = {":c": {"S": "SYD-0000000000000002"}}
    return [
        _pages("scan", TableName=table),
        _pages("scan", TableName=table, ProjectionExpression="#c", ExpressionAttributeNames={"#c": "chain"}),
        _pages("query", TableName=table, KeyConditionExpression="#c = :c",
               ExpressionAttributeNames={"#c": "chain"}, ExpressionAttributeValues=chain),
        _pages("query", TableName=table, KeyConditionExpression="#c = :c AND #s >= :s",
               ExpressionAttributeNames={"#c": "chain", "#s": "seq"},
               ExpressionAttributeValues={**chain, ":s": {"N": "17"}}),
    ]  # fmt: skip


def test_linear_pages_answer_every_page_as_moto_does(settings: Any, audit_log: list[dict[str, Any]]) -> None:
    table = settings.VAULT_AUDIT_TABLE
    own = _reads(table)
    with audit_verify_bench.linear_pages():
        linear = _reads(table)
    assert linear == own
    assert all(len(pages) > 3 for pages in own)
    assert sum(len(items) for items, _ in own[0]) >= 200


def test_linear_pages_see_a_write_made_between_reads(settings: Any, audit_log: list[dict[str, Any]]) -> None:
    with audit_verify_bench.linear_pages():
        before = len(list(audit.chain_records("SYD-0000000000000001")))
        last = audit_log[99]
        extra = audit_verify_bench.make_record(audit, 1, 50, last["mac"])
        aws.client("dynamodb").put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(extra))
        after = len(list(audit.chain_records("SYD-0000000000000001")))
    assert (before, after) == (50, 51)


def _verdicts(log: list[dict[str, Any]]) -> list[audit.Verification]:
    """A full run, and one resumed from each chain's record 30."""
    anchors = {rec["chain"]: (30, rec["mac"]) for rec in log if rec["seq"] == 30}
    return [audit.verify(), audit.verify(resume=anchors)]


def test_linear_pages_give_verify_audit_the_same_verdicts(
    settings: Any, audit_log: list[dict[str, Any]]
) -> None:
    with audit_verify_bench.linear_pages():
        linear = _verdicts(audit_log)
    assert linear == _verdicts(audit_log)
    full, resumed = linear
    assert full.ok and resumed.ok
    assert full.records - resumed.records == 4 * 30


def test_linear_pages_catch_the_same_tampered_record(settings: Any, audit_log: list[dict[str, Any]]) -> None:
    tampered = {**audit_log[123], "outcome": "denied"}  # chain 2, record 23; its MAC left as it was
    aws.client("dynamodb").put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(tampered))
    with audit_verify_bench.linear_pages():
        linear = audit.verify()
    assert linear == audit.verify()
    assert not linear.ok
    assert linear.problem == "chain SYD-0000000000000002 record 23: contents do not match its MAC"


def test_the_batch_comparison_over_http_runs_end_to_end() -> None:
    """Writer and reader functions served over HTTP, moto's server behind them: every
    answer is checked by the bench itself (a failed call or a record without data raises)."""
    done = subprocess.run(
        [sys.executable, "bench/batch_over_http.py", "--n", "100", "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| ") and "x |" in line]
    assert [row[0].lstrip("| ") for row in rows] == ["tokenize", "detokenize"], done.stdout
    for row in rows:
        assert all(float(cell.rstrip("x |")) > 0 for cell in row[1:]), done.stdout


def test_the_emulators_transactions_roll_back_and_leave_no_table_copies_behind() -> None:
    """tests/emulator_speed.py: one rollback copy per table per transaction, forgotten
    afterwards, and so is the table a failed transaction rolled back from (moto tracks
    every model instance it makes, which grew a bench past 24 GB); a failed transaction
    still changes nothing."""
    import gc

    import boto3
    from moto.dynamodb.models.table import Table

    ddb = boto3.client("dynamodb", region_name="ap-southeast-2")
    ddb.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )  # fmt: skip

    def put(key: str, condition: str = "") -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": "t", "Item": {"k": {"S": key}}}
        if condition:
            action["ConditionExpression"] = condition
        return {"Put": action}

    gc.collect()
    tables = sum(isinstance(o, Table) for o in gc.get_objects())
    for round_ in range(20):
        ddb.transact_write_items(TransactItems=[put(f"r{round_}-{i}") for i in range(50)])
    gc.collect()
    assert sum(isinstance(o, Table) for o in gc.get_objects()) == tables
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[put("new"), put("r0-0", "attribute_not_exists(k)")]
        )  # fmt: skip
    assert "Item" not in ddb.get_item(TableName="t", Key={"k": {"S": "new"}})  # rolled back
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 1000
    gc.collect()  # the table the failed transaction rolled back from is gone too
    assert sum(isinstance(o, Table) for o in gc.get_objects()) == tables
