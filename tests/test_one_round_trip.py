"""DynamoDB calls per operation: one transaction per write, one read and one
audit record per read, and no read for a remembered API key."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import Api, audit_records, put_raw, raw_item
from tokens import aws, storage


class DynamoCalls:
    """Every DynamoDB operation made through the vault's client, with its table."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, model: Any, params: Any, **kwargs: Any) -> None:
        body = params.get("body", b"")
        table = ""
        for name in (settings.VAULT_TABLE, settings.VAULT_AUDIT_TABLE, settings.VAULT_CLIENTS_TABLE):
            if f'"{name}"'.encode() in (body if isinstance(body, bytes) else body.encode()):
                table = table or name
        self.calls.append((model.name, table))

    def operations(self) -> list[str]:
        return sorted(name for name, _ in self.calls)

    def take(self) -> list[str]:
        found = self.operations()
        self.calls.clear()
        return found


@pytest.fixture
def dynamo_calls() -> Any:
    log = DynamoCalls()
    client = aws.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", log)
    yield log
    client.meta.events.unregister("before-call.dynamodb", log)


def test_each_operation_makes_its_one_round_trip(full_api: Api, dynamo_calls: DynamoCalls) -> None:
    warm = full_api.tokenize({"pan": "4111"})  # the key is now remembered, key material loaded
    # and the set of decoys read (one Query per process every VAULT_DECOY_CACHE_SECONDS)
    assert full_api.get(f"/api/v1/tokens/{warm}").status_code == 200
    dynamo_calls.calls.clear()

    token = full_api.tokenize({"pan": "4111"})
    assert dynamo_calls.take() == ["TransactWriteItems"]

    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert dynamo_calls.take() == ["GetItem", "PutItem"]

    assert full_api.get(f"/api/v1/tokens/{token}").status_code == 200
    assert dynamo_calls.take() == ["GetItem", "PutItem"]

    assert full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 86400}).status_code == 200
    assert dynamo_calls.take() == ["GetItem", "TransactWriteItems"]

    assert full_api.delete(f"/api/v1/tokens/{token}").status_code == 204
    assert dynamo_calls.take() == ["GetItem", "TransactWriteItems"]


def test_a_remembered_key_costs_no_dynamodb_call(full_api: Api, dynamo_calls: DynamoCalls) -> None:
    token = full_api.tokenize({"pan": "4111"})
    assert ("GetItem", settings.VAULT_CLIENTS_TABLE) in dynamo_calls.calls
    dynamo_calls.calls.clear()
    for _ in range(5):
        assert full_api.get(f"/api/v1/tokens/{token}").status_code == 200
    assert [c for c in dynamo_calls.calls if c[1] == settings.VAULT_CLIENTS_TABLE] == []


def test_tokenize_writes_the_item_and_its_record_together(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    [record] = [r for r in audit_records() if r["action"] == "tokenize"]
    assert (record["token_id"], record["outcome"]) == (token, "success")
    assert storage.get(token) is not None


def test_a_change_of_expiry_racing_another_write_is_a_conflict_and_writes_nothing(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = full_api.tokenize({"pan": "4111"})
    read = storage.get

    def read_then_someone_writes(token_id: str) -> Any:
        item = read(token_id)
        put_raw({**item, storage.SIGNATURE: {"B": b"someone else's version"}})
        return item

    monkeypatch.setattr(storage, "get", read_then_someone_writes)
    response = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 86400})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert raw_item(token)[storage.SIGNATURE] == {"B": b"someone else's version"}
    assert [r["outcome"] for r in audit_records() if r["action"] == "change_expiry"] == ["error"]


def test_a_delete_racing_another_write_keeps_the_item(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    read = storage.get

    def read_then_someone_writes(token_id: str) -> Any:
        item = read(token_id)
        put_raw({**item, storage.SIGNATURE: {"B": b"someone else's version"}})
        return item

    monkeypatch.setattr(storage, "get", read_then_someone_writes)
    assert full_api.delete(f"/api/v1/tokens/{token}").status_code == 409
    assert read(token) is not None
    assert [r["outcome"] for r in audit_records() if r["action"] == "delete"] == ["error"]
