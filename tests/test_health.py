from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from django.test import Client

from tests.role_urls import RoleUrls
from tokens import aws, crypto, vault


def test_healthz_needs_no_dependency(db: Any) -> None:
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_dynamodb_and_kms(db: Any) -> None:
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# /readyz proves the data path of the function serving it (tokens.vault.ready).


@pytest.fixture(params=["writer", "reader", "operator"])
def role(request: Any, settings: Any) -> str:
    settings.VAULT_FUNCTION_ROLE = request.param
    settings.ROOT_URLCONF = RoleUrls(request.param)
    return str(request.param)


def test_readyz_is_green_for_every_function_role(db: Any, role: str) -> None:
    assert Client().get("/readyz").status_code == 200


def test_readyz_turns_red_with_a_disabled_key(db: Any, settings: Any, role: str) -> None:
    kms = aws.client("kms")
    kms.disable_key(KeyId=kms.describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]["KeyId"])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable" and response["Retry-After"]


@pytest.mark.parametrize(
    ("operation", "role", "mode"),
    [("decrypt", "reader", "cached"), ("generate_data_key", "writer", "kms-per-item")],
)
def test_readyz_turns_red_when_the_role_may_not_use_the_key(
    db: Any, settings: Any, operation: str, role: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kms = aws.client("kms")
    denied = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, operation
    )

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise denied

    monkeypatch.setattr(kms, operation, refuse)
    settings.VAULT_KEY_MODE = mode
    crypto.reset()  # a fresh process: it loads its key version (cached mode) through KMS
    settings.VAULT_FUNCTION_ROLE = role
    settings.ROOT_URLCONF = RoleUrls(role)
    assert Client().get("/readyz").status_code == 503


def test_readyz_turns_red_for_a_reader_without_the_canary_item(db: Any, settings: Any) -> None:
    settings.VAULT_FUNCTION_ROLE = "reader"
    settings.ROOT_URLCONF = RoleUrls("reader")
    aws.client("dynamodb").delete_item(TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": "vault-canary"}})
    assert Client().get("/readyz").status_code == 503


def test_a_green_readyz_is_kept_a_few_seconds_then_checked_again(
    db: Any, aws_calls: Any, time_machine: Any
) -> None:
    time_machine.move_to("2026-06-01T00:00:00Z", tick=False)
    assert Client().get("/readyz").status_code == 200
    aws_calls.clear()
    time_machine.shift(vault.READY_CACHE_SECONDS - 1)
    assert Client().get("/readyz").status_code == 200
    assert aws_calls.calls == []
    time_machine.shift(2)
    assert Client().get("/readyz").status_code == 200
    assert aws_calls.count("kms", "DescribeKey") == 1 and aws_calls.count("dynamodb", "GetItem") == 1


def test_the_canary_cannot_be_read_through_the_api(full_api: Any) -> None:
    response = full_api.post("/api/v1/detokenize", {"tokenId": "vault-canary"})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/docs"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_get_a_json_405_naming_get(db: Any, path: str, method: str) -> None:
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Use GET here."}}
