"""verify_audit reads the log chain by chain: the chain ids from a scan of the
key alone, then each chain in order by a query, reporting progress."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import make_api
from tokens import audit, aws
from tokens.management.commands import verify_audit


@pytest.fixture
def three_chains(db: Any) -> list[str]:
    api = make_api(["tokenize"], "svc")
    for n in range(3):
        audit.reset_writer()  # a new process, a new chain
        api.tokenize({"pan": str(n)})
        api.tokenize({"pan": str(n)})
    return audit.chain_ids()


def test_it_scans_only_the_chain_key_and_queries_each_chain(three_chains: list[str]) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    ddb = aws.client("dynamodb")

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        seen.append((model.name, dict(params)))

    ddb.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        result = audit.verify()
    finally:
        ddb.meta.events.unregister("provide-client-params.dynamodb.*", record)
    assert result.ok and result.chains == len(three_chains) == 3
    scans = [p for name, p in seen if name == "Scan"]
    assert [p["ProjectionExpression"] for p in scans] == ["#c"]
    queried = [p["ExpressionAttributeValues"][":c"]["S"] for name, p in seen if name == "Query"]
    assert queried == sorted(three_chains)


def test_progress_is_reported_after_each_chain(three_chains: list[str]) -> None:
    reports: list[tuple[int, int]] = []
    result = audit.verify(progress=lambda records, chains: reports.append((records, chains)))
    assert [chains for _, chains in reports] == [1, 2, 3]
    assert reports[-1] == (result.records, 3)


def test_the_command_prints_progress_lines(three_chains: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_audit, "PROGRESS_EVERY", 1)
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_audit", stdout=out, stderr=err)
    assert err.getvalue().splitlines()[-1].endswith("in 3 chains")
    assert out.getvalue().startswith("audit log intact:") and "in 3 chains" in out.getvalue()


def test_a_gap_in_one_chain_is_found_while_reading_it(three_chains: list[str], settings: Any) -> None:
    chain = three_chains[1]
    aws.client("dynamodb").delete_item(
        TableName=settings.VAULT_AUDIT_TABLE, Key={"chain": {"S": chain}, "seq": {"N": "0"}}
    )
    result = audit.verify()
    assert not result.ok and result.problem == f"chain {chain} record 1: record 0 is missing"
    assert result.chains == 2  # found while reading the second chain
