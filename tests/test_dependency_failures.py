"""DynamoDB, KMS or the audit log failing mid-request: 503, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Api, audit_records, error_of
from tokens import aws

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


def test_kms_throttled_on_tokenize_gives_503_and_no_item(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(monkeypatch, "kms", "generate_data_key")
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {"code": "unavailable", "message": "KMS is unavailable; retry later."}
    assert response["Retry-After"] == "5"
    assert data_items() == 0
    assert audit_records()[-1]["outcome"] == "error"


def test_dynamodb_failing_after_the_audit_record_leaves_no_item(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(monkeypatch, "dynamodb", "put_item", on_table(settings.VAULT_TABLE))
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response)["message"] == "DynamoDB is unavailable; retry later."
    assert data_items() == 0
    success, failure = [r for r in audit_records() if r["action"] == "tokenize"]
    assert failure["token_id"] == success["token_id"]
    assert (failure["outcome"], failure["detail"]) == ("error", "after audit: unavailable")


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
    fail(monkeypatch, "kms", "decrypt")
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 503
    assert error_of(response)["message"] == "KMS is unavailable; retry later."
    assert audit_records()[-1]["outcome"] == "error"


def test_an_audit_failure_stops_a_tokenize(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    fail(monkeypatch, "dynamodb", "put_item", on_table(settings.VAULT_AUDIT_TABLE))
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {
        "code": "audit_unavailable",
        "message": "The audit log could not be written, so nothing was done; retry later.",
    }
    assert data_items() == 0


def test_an_audit_failure_stops_a_reveal(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    fail(monkeypatch, "dynamodb", "put_item", on_table(settings.VAULT_AUDIT_TABLE))
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 503
    assert "4111" not in response.content.decode()


def test_an_audit_failure_stops_a_delete(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize({"pan": "4111"})
    fail(monkeypatch, "dynamodb", "put_item", on_table(settings.VAULT_AUDIT_TABLE))
    assert full_api.delete(f"/api/v1/tokens/{token}").status_code == 503
    assert data_items() == 1


def test_the_audit_chain_survives_a_failed_write(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens import audit

    full_api.tokenize({"pan": "4111"})
    with monkeypatch.context() as patch:
        fail(patch, "dynamodb", "put_item", on_table(settings.VAULT_AUDIT_TABLE))
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


def test_clients_retry_boundedly_with_timeouts() -> None:
    config = aws.client("kms").meta.config
    assert config.retries == {"total_max_attempts": settings.AWS_MAX_ATTEMPTS, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )
