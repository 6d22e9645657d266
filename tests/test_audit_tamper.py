"""Tampering with the audit table directly (as someone with write access to
DynamoDB but not the HMAC key would): `verify_audit` names the first broken link."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tokens import audit, aws
from tokens.actors import Actor, RequestContext

ACTOR = Actor(kind="operator", id="user:7", name="alice")
OUTCOMES = ["success", "denied", "success", "success", "denied"]


@pytest.fixture
def chain(db: Any) -> list[dict[str, Any]]:
    """Five records in one chain, oldest first."""
    ctx = RequestContext(channel="ui", reason="INC-9: checking a card")
    return [
        audit.record("detokenize", outcome, ACTOR, ctx, token_id="", fields=["card"], detail=f"step {n}")
        for n, outcome in enumerate(OUTCOMES)
    ]


def table() -> Any:
    return aws.client("dynamodb")


def key(record: dict[str, Any]) -> dict[str, Any]:
    return {"chain": {"S": record["chain"]}, "seq": {"N": str(record["seq"])}}


def put(record: dict[str, Any]) -> None:
    table().put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(record))


def forged_mac(record: dict[str, Any]) -> str:
    """The best a forger without AUDIT_HMAC_KEY can do: a MAC under a key of their own."""
    body = json.dumps({k: v for k, v in record.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(b"forger-guess", body.encode(), hashlib.sha256).hexdigest()


def broken(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    return str(failure.value)


def test_an_untouched_log_verifies(chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    call_command("verify_audit")
    assert "audit log intact: 5 records in 1 chains" in capsys.readouterr().out


def test_an_altered_record_is_caught(chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    table().update_item(
        TableName=settings.VAULT_AUDIT_TABLE,
        Key=key(chain[1]),
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "success"}},
    )
    message = broken(capsys)
    assert f"chain {chain[0]['chain']} record 1: contents do not match its MAC" in message


def test_an_altered_record_with_a_recomputed_guess_at_the_mac_is_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    altered = dict(chain[2], reason="routine check", actor="bob")
    altered["mac"] = forged_mac(altered)
    put(altered)
    assert "record 2: contents do not match its MAC" in broken(capsys)


def test_a_deleted_record_is_caught(chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    table().delete_item(TableName=settings.VAULT_AUDIT_TABLE, Key=key(chain[2]))
    assert "record 3: record 2 is missing" in broken(capsys)


def test_a_deleted_first_record_is_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    table().delete_item(TableName=settings.VAULT_AUDIT_TABLE, Key=key(chain[0]))
    assert "record 1: record 0 is missing" in broken(capsys)


def test_an_inserted_record_is_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Make room after record 1 by renumbering the rest, then slip a forged record in.
    for record in reversed(chain[2:]):
        put(dict(record, seq=record["seq"] + 1))
    forged = dict(chain[2], seq=2, prev=chain[1]["mac"], action="sign_in", detail="")
    forged["mac"] = forged_mac(forged)
    put(forged)
    assert "record 2: contents do not match its MAC" in broken(capsys)


def test_a_record_inserted_as_a_chain_of_its_own_is_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    forged = dict(chain[0], chain="SYD-0000000000000000", seq=0, prev=audit.GENESIS)
    forged["mac"] = forged_mac(forged)
    put(forged)
    assert "chain SYD-0000000000000000 record 0: contents do not match its MAC" in broken(capsys)


def test_reordered_records_are_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    put(dict(chain[3], seq=1))
    put(dict(chain[1], seq=3))
    assert "record 1: contents do not match its MAC" in broken(capsys)


def test_a_record_moved_in_time_is_caught(
    chain: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    put(dict(chain[4], at=chain[0]["at"], day=chain[0]["day"]))
    assert "record 4: contents do not match its MAC" in broken(capsys)


def test_records_written_by_the_pages_verify(
    operators: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import fresh_client

    client = fresh_client(operators["everyone"])
    client.post("/tokenize", {"name": ["a"], "value": ["b"]})
    client.get("/audit")
    client.get("/operators")
    fresh_client(operators["nobody"]).get("/audit")
    call_command("verify_audit")
    assert "audit log intact" in capsys.readouterr().out
