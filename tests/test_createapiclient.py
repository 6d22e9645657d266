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
