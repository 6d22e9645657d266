"""The seed's direct Lambda events, served through the same vault functions as
the API: role check, validation, audit record and the one error shape."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MARKER
from tests.lambda_events import load_stage
from tokens import audit, vault
from vaultsite.lambda_handler import lambda_handler

FORBIDDEN_ROLE = "This {role} function does not serve {op}."


def seed_event(ttl: int) -> dict[str, Any]:
    # The seed's README test event, with a marker value and a future TTL.
    return {
        "data": {
            "drivers_license": MARKER,
            "medicare_card": "1234 56789 0",
            "tax_file_number": "111 111 111",
            "TTL": ttl,
        }
    }


def records() -> list[dict[str, Any]]:
    return sorted(audit.all_records(), key=lambda r: (r["chain"], r["seq"]))


def mint(tmp_path: Path, settings: Any, ttl: int) -> str:
    with load_stage("syd_writer", tmp_path, settings) as writer:
        result = lambda_handler(seed_event(ttl), writer.context())
    return str(result["tokenId"])


def test_the_seed_events_round_trip_through_writer_and_reader(tmp_path: Path, settings: Any) -> None:
    ttl = int(time.time()) + 3600
    with load_stage("syd_writer", tmp_path, settings) as writer:
        created = lambda_handler(seed_event(ttl), writer.context())
    assert set(created) == {"tokenId", "TTL"} and created["TTL"] == ttl
    assert created["tokenId"].startswith("TKN-SYD-")
    assert MARKER not in str(created)

    with load_stage("syd_reader", tmp_path, settings) as reader:
        item = lambda_handler({"tokenId": created["tokenId"]}, reader.context())
    # The seed's decrypt function returned the decrypted item itself.
    assert item == {
        "tokenId": created["tokenId"],
        "drivers_license": MARKER,
        "medicare_card": "1234 56789 0",
        "tax_file_number": "111 111 111",
        "TTL": ttl,
    }


def test_a_reader_event_may_ask_for_some_fields(tmp_path: Path, settings: Any) -> None:
    token = mint(tmp_path, settings, int(time.time()) + 3600)
    with load_stage("syd_reader", tmp_path, settings) as reader:
        item = lambda_handler({"tokenId": token, "fields": ["medicare_card"]}, reader.context())
    assert set(item) == {"tokenId", "medicare_card", "TTL"}


def test_direct_events_are_audited_as_the_lambda_function(tmp_path: Path, settings: Any) -> None:
    token = mint(tmp_path, settings, int(time.time()) + 3600)
    with load_stage("syd_reader", tmp_path, settings) as reader:
        context = reader.context()
        lambda_handler({"tokenId": token}, context)
    found = {r["action"]: r for r in records()}
    assert sorted(found) == ["detokenize", "tokenize"]
    assert found["tokenize"]["actor"] == "token-vault-syd-writer"
    assert found["detokenize"]["actor"] == "token-vault-syd-reader"
    assert found["detokenize"]["actor_type"] == "lambda"
    assert found["detokenize"]["channel"] == "lambda"
    assert found["detokenize"]["request_id"] == context.aws_request_id
    assert found["detokenize"]["token_id"] == token and found["detokenize"]["outcome"] == "success"
    assert MARKER not in str(records())


def test_a_reader_function_refuses_a_tokenize_event(tmp_path: Path, settings: Any) -> None:
    with load_stage("syd_reader", tmp_path, settings) as reader:
        result = lambda_handler(seed_event(int(time.time()) + 3600), reader.context())
    assert result == {
        "error": {"code": "forbidden", "message": FORBIDDEN_ROLE.format(role="reader", op="tokenize")}
    }
    assert [(r["action"], r["outcome"]) for r in records()] == [("tokenize", "denied")]
    assert MARKER not in str(records())


def test_a_writer_function_refuses_a_detokenize_event(tmp_path: Path, settings: Any) -> None:
    token = mint(tmp_path, settings, int(time.time()) + 3600)
    with load_stage("syd_writer", tmp_path, settings) as writer:
        result = lambda_handler({"tokenId": token}, writer.context())
    assert result == {
        "error": {"code": "forbidden", "message": FORBIDDEN_ROLE.format(role="writer", op="detokenize")}
    }
    assert [(r["action"], r["outcome"]) for r in records()][-1] == ("detokenize", "denied")
    assert MARKER not in str(result)


@pytest.mark.parametrize(
    ("event", "code", "message"),
    [
        (["not", "an", "object"], "invalid_request", "The event must be a JSON object."),
        ({"data": MARKER}, "invalid_request", "data: must be an object of field names to string values"),
        ({"data": {"pan": 4111}}, "invalid_request", "data.pan: values must be strings"),
        ({"data": {"pan": MARKER}, "TTL": 5}, "invalid_request", None),
        ({"data": {"pan": MARKER, "TTL": 1}}, "invalid_request", "data.TTL: TTL is in the past"),
    ],
    ids=["not-an-object", "data-not-object", "value-not-string", "extra-key", "past-ttl"],
)
def test_a_malformed_tokenize_event_gets_an_error_result(
    event: Any, code: str, message: str | None, tmp_path: Path, settings: Any, caplog: Any, capsys: Any
) -> None:
    with load_stage("syd_writer", tmp_path, settings) as writer:
        result = lambda_handler(event, writer.context())
    assert result["error"]["code"] == code
    if message:
        assert result["error"]["message"] == message
    captured = capsys.readouterr()
    assert MARKER not in str(result) + caplog.text + captured.out + captured.err


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"tokenId": 42}, "invalid_request"),
        ({"tokenId": MARKER}, "token_not_found"),
        ({"tokenId": "TKN-SYD-00000000-0000-4000-8000-000000000000"}, "token_not_found"),
        ({"fields": ["pan"]}, "invalid_request"),
    ],
    ids=["not-a-string", "not-a-token", "unknown-token", "no-token"],
)
def test_a_malformed_detokenize_event_gets_an_error_result(
    event: Any, code: str, tmp_path: Path, settings: Any, caplog: Any, capsys: Any
) -> None:
    with load_stage("syd_reader", tmp_path, settings) as reader:
        result = lambda_handler(event, reader.context())
    assert result["error"]["code"] == code
    captured = capsys.readouterr()
    assert MARKER not in str(result) + caplog.text + captured.out + captured.err


def test_an_expired_token_looks_unknown(tmp_path: Path, settings: Any, time_machine: Any) -> None:
    token = mint(tmp_path, settings, int(time.time()) + 60)
    time_machine.move_to(time.time() + 120)
    with load_stage("syd_reader", tmp_path, settings) as reader:
        result = lambda_handler({"tokenId": token}, reader.context())
    assert result == {"error": {"code": "token_not_found", "message": "No such token, or it has expired."}}


def test_a_tampered_item_looks_unknown(tmp_path: Path, settings: Any) -> None:
    from tokens import aws

    token = mint(tmp_path, settings, int(time.time()) + 3600)
    ddb = aws.client("dynamodb")
    item = ddb.get_item(TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token}})["Item"]
    item["TTL"] = {"N": str(int(item["TTL"]["N"]) + 86400)}
    ddb.put_item(TableName=settings.VAULT_TABLE, Item=item)
    with load_stage("syd_reader", tmp_path, settings) as reader:
        result = lambda_handler({"tokenId": token}, reader.context())
    assert result == {"error": {"code": "token_not_found", "message": "No such token, or it has expired."}}
    assert records()[-1]["outcome"] == "integrity_failure"


def test_an_unexpected_failure_returns_a_generic_error_without_its_text(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any, capsys: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom {MARKER}")

    monkeypatch.setattr(vault, "tokenize", broken)
    with load_stage("syd_writer", tmp_path, settings) as writer:
        result = lambda_handler(seed_event(int(time.time()) + 3600), writer.context())
    assert result == {"error": {"code": "error", "message": "The vault could not complete the request."}}
    captured = capsys.readouterr()
    assert MARKER not in caplog.text + captured.out + captured.err
    assert "RuntimeError" in caplog.text
