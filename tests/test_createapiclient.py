from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import Api
from tokens import api_keys
from tokens.models import ApiClient


def create(*args: str) -> list[str]:
    out = StringIO()
    call_command("createapiclient", *args, stdout=out)
    return out.getvalue().splitlines()


def test_it_prints_the_key_alone_on_the_last_line(db: Any) -> None:
    key = create("billing", "--scopes", "tokenize,detokenize")[-1]
    assert api_keys.prefix_of(key) is not None
    assert Api(key).post("/api/v1/tokens", {"data": {"pan": "4111"}}).status_code == 201


def test_it_stores_only_a_keyed_hash(db: Any) -> None:
    key = create("billing", "--scopes", "tokenize")[-1]
    client = ApiClient.objects.get(name="billing")
    assert client.key_hash == api_keys.key_hash(key)
    assert key not in repr(list(ApiClient.objects.values()))


def test_it_limits_fields(db: Any) -> None:
    create("billing", "--scopes", "detokenize", "--fields", "pan,cvc")
    assert ApiClient.objects.get(name="billing").allowed_fields == ["pan", "cvc"]


def test_it_rejects_an_unknown_scope(db: Any) -> None:
    with pytest.raises(
        CommandError, match="scopes: a non-empty list from tokenize, detokenize, metadata, ttl, delete"
    ):
        create("billing", "--scopes", "tokenize,root")
    assert not ApiClient.objects.exists()


def test_saving_a_client_keeps_its_last_used_time(db: Any) -> None:
    key = create("billing", "--scopes", "tokenize")[-1]
    Api(key).post("/api/v1/tokens", {"data": {"pan": "4111"}})
    client = ApiClient.objects.get(name="billing")
    used = client.last_used
    assert used is not None
    client.scopes = ["tokenize", "metadata"]
    client.save()
    assert client.last_used == used


def test_narrowing_and_widening_fields_reaches_the_api(db: Any) -> None:
    key = create("billing", "--scopes", "tokenize,detokenize", "--fields", "pan")[-1]
    token = Api(key).tokenize({"pan": "4111", "cvc": "123"})
    assert Api(key).post("/api/v1/detokenize", {"tokenId": token}).json()["data"] == {"pan": "4111"}
    client = ApiClient.objects.get(name="billing")
    client.allowed_fields = None
    client.save()
    assert Api(key).post("/api/v1/detokenize", {"tokenId": token}).json()["data"] == {
        "pan": "4111",
        "cvc": "123",
    }
