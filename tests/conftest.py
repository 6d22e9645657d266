"""Shared fixtures: AWS replaced in-process by moto, a cast of API clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from moto import mock_aws

from tokens import audit, aws
from tokens.bootstrap import bootstrap
from tokens.models import ApiClient

MARKER = "4111-MARKER-SECRET-9731"


@pytest.fixture(autouse=True)
def vault_aws(settings: Any) -> Iterator[None]:
    """A fresh emulated DynamoDB and KMS for each test, with the vault's tables and key."""
    settings.AWS_ENDPOINT_URL = ""
    settings.VAULT_KMS_KEY = "alias/tokenizer"
    from tokens.api.decorators import limiter

    limiter.hits.clear()  # rate-limit windows are per process; start each test afresh
    with mock_aws():
        # Built clients are kept between tests (building one costs ~0.1 s);
        # moto intercepts them whenever a mock is active.
        audit.reset_writer()
        kms = aws.client("kms")
        key_id = kms.create_key(Description="test")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/tokenizer", TargetKeyId=key_id)
        bootstrap()
        yield
    audit.reset_writer()


@pytest.fixture(autouse=True)
def _script_prefix() -> Iterator[None]:
    """Zappa's handler sets Django's URL prefix to the stage name; undo it after each test."""
    from django.urls import set_script_prefix

    yield
    set_script_prefix("/")


class Api:
    """A test client for the JSON API, holding one API key."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json.dumps(body), content_type="application/json", **self._headers())

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json.dumps(body), content_type="application/json", **self._headers())

    def get(self, path: str) -> Any:
        return self.client.get(path, **self._headers())

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self._headers())

    def tokenize(self, data: dict[str, Any]) -> str:
        response = self.post("/api/v1/tokens", {"data": data})
        assert response.status_code == 201, response.content
        return str(response.json()["tokenId"])


def make_api(scopes: list[str], name: str | None = None, fields: list[str] | None = None) -> Api:
    _, key = ApiClient.issue(name or "svc-" + "-".join(scopes), scopes, fields)
    return Api(key)


@pytest.fixture
def full_api(db: Any) -> Api:
    return make_api(["tokenize", "detokenize", "metadata", "ttl", "delete"], "full")


@pytest.fixture
def writer_api(db: Any) -> Api:
    return make_api(["tokenize"], "writer")


@pytest.fixture
def reader_api(db: Any) -> Api:
    return make_api(["detokenize"], "reader")


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    return dict(response.json()["error"])


class CallLog:
    """AWS operations made through the vault's clients, as (service, operation)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.calls.append((model.service_model.endpoint_prefix, model.name))

    def count(self, service: str, operation: str) -> int:
        return self.calls.count((service, operation))

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def aws_calls() -> Iterator[CallLog]:
    log = CallLog()
    clients = [aws.client(service) for service in ("kms", "dynamodb")]
    for client in clients:
        client.meta.events.register("before-call", log)
    yield log
    for client in clients:
        client.meta.events.unregister("before-call", log)


def raw_item(token_id: str) -> dict[str, Any]:
    from django.conf import settings

    item = aws.client("dynamodb").get_item(TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token_id}})
    return dict(item["Item"])


def put_raw(item: dict[str, Any]) -> None:
    from django.conf import settings

    aws.client("dynamodb").put_item(TableName=settings.VAULT_TABLE, Item=item)


def audit_records() -> list[dict[str, Any]]:
    return sorted(audit.all_records(), key=lambda r: (r["chain"], r["seq"]))
