"""DynamoDB, KMS or the audit log failing mid-request: 503, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Api, audit_records, error_of
from tokens import aws, crypto

UNAVAILABLE = {"code": "unavailable"}


def throttled(operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def fail(
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    method: str,
    when: Callable[[dict[str, Any]], bool] = lambda kw: True,
    exc: Exception | None = None,
) -> None:
    client = aws.client(service)
    real = getattr(client, method)

    def broken(**kwargs: Any) -> Any:
        if when(kwargs):
            raise exc or throttled(method)
        return real(**kwargs)

    monkeypatch.setattr(client, method, broken)


def data_items() -> int:
    # Tokens only: not the canary item vault_bootstrap writes for /readyz.
    scan = aws.client("dynamodb").scan(
        TableName=settings.VAULT_TABLE,
        Select="COUNT",
        FilterExpression="begins_with(tokenId, :t)",
        ExpressionAttributeValues={":t": {"S": "TKN-"}},
    )
    return int(scan["Count"])


def on_table(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda kwargs: kwargs.get("TableName") == name


@pytest.mark.parametrize(
    ("mode", "kms_call"),
    [("cached", "decrypt"), ("kms-per-item", "generate_data_key")],  # loading the key version; per item
)
def test_kms_throttled_on_tokenize_gives_503_and_no_item(
    full_api: Api, monkeypatch: pytest.MonkeyPatch, mode: str, kms_call: str
) -> None:
    monkeypatch.setattr(settings, "VAULT_KEY_MODE", mode)
    crypto.reset()  # a fresh process (bootstrap's canary loaded this one's key version)
    fail(monkeypatch, "kms", kms_call)
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {"code": "unavailable", "message": "KMS is unavailable; retry later."}
    assert response["Retry-After"] == "5"
    assert data_items() == 0
    assert audit_records()[-1]["outcome"] == "error"


def test_a_failed_tokenize_write_leaves_neither_item_nor_success_record(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The item and its audit record are one transaction: both land or neither.
    fail(monkeypatch, "dynamodb", "transact_write_items")
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response)["message"] == "DynamoDB is unavailable; retry later."
    assert response["Retry-After"] == "5"
    assert data_items() == 0
    [failure] = [r for r in audit_records() if r["action"] == "tokenize"]
    assert (failure["outcome"], failure["detail"]) == ("error", "unavailable")


def test_dynamodb_unreachable_on_detokenize_gives_503(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    fail(monkeypatch, "dynamodb", "get_item", on_table(settings.VAULT_TABLE),
         botocore.exceptions.EndpointConnectionError(endpoint_url="https://dynamodb"))  # fmt: skip
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 503
    assert "4111" not in response.content.decode()


def test_kms_failing_on_decrypt_is_unavailable_not_tampering(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = full_api.tokenize({"pan": "4111"})
    crypto.reset()  # a fresh process: it must load the key version from KMS
    fail(monkeypatch, "kms", "decrypt")
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 503
    assert error_of(response)["message"] == "KMS is unavailable; retry later."
    assert audit_records()[-1]["outcome"] == "error"


def test_an_audit_record_that_cannot_take_its_slot_stops_a_tokenize(full_api: Api) -> None:
    from tokens import audit

    full_api.tokenize({"pan": "4111"})
    [first] = [r for r in audit_records() if r["action"] == "tokenize"]
    # Someone else's record already sits in the chain's next slot.
    squatter = {**first, "seq": first["seq"] + 1, "detail": "not ours"}
    aws.client("dynamodb").put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(squatter))
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {
        "code": "audit_unavailable",
        "message": "The audit log could not be written, so nothing was done; retry later.",
    }
    assert data_items() == 1


def test_an_audit_failure_stops_a_reveal(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    fail(monkeypatch, "dynamodb", "put_item", on_table(settings.VAULT_AUDIT_TABLE))
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 503
    assert "4111" not in response.content.decode()


def test_a_failed_delete_write_keeps_the_item(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    fail(monkeypatch, "dynamodb", "transact_write_items")
    assert full_api.delete(f"/api/v1/tokens/{token}").status_code == 503
    assert data_items() == 1
    assert [r["outcome"] for r in audit_records() if r["action"] == "delete"] == ["error"]


def test_the_audit_chain_survives_a_failed_write(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens import audit

    full_api.tokenize({"pan": "4111"})
    with monkeypatch.context() as patch:
        fail(patch, "dynamodb", "transact_write_items", exc=botocore.exceptions.ReadTimeoutError(
            endpoint_url="https://dynamodb"))  # the answer is lost: did it land?  # fmt: skip
        full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    full_api.tokenize({"pan": "4111"})
    result = audit.verify()
    assert result.ok and result.chains == 2


def test_an_api_client_store_outage_gives_503_not_401(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    fail(monkeypatch, "dynamodb", "get_item", on_table(settings.VAULT_CLIENTS_TABLE))
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503


def test_readyz_reports_kms_down(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fail(monkeypatch, "kms", "describe_key")
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert error_of(response)["message"] == "KMS is unavailable; retry later."


def test_clients_have_timeouts_and_leave_retries_to_the_budget() -> None:
    # Retries (AWS_MAX_ATTEMPTS, inside the request's budget) are tokens.budget's:
    # tests/test_request_budget.py.
    config = aws.client("kms").meta.config
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )
