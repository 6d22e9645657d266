"""A verified API key is remembered in-process for at most API_KEY_CACHE_SECONDS:
no DynamoDB read per request, and a key revoked elsewhere stops working within
that bound (at once in the process that revoked it)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import Api, make_api
from tokens import admin_ops, api_keys, aws
from tokens.actors import RequestContext
from tokens.models import ApiClient


def revoke_elsewhere(api: Api) -> None:
    """What another process's revocation leaves in the mirror this process reads."""
    prefix = api_keys.prefix_of(str(api.key))
    aws.client("dynamodb").update_item(
        TableName=settings.VAULT_CLIENTS_TABLE,
        Key={"prefix": {"S": prefix}},
        UpdateExpression="SET active = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """This process's clock, `seconds` on."""
    now = time.monotonic() + seconds
    monkeypatch.setattr(api_keys, "time", SimpleNamespace(monotonic=lambda: now, time=time.time))


def status(api: Api) -> int:
    return int(api.get("/api/v1/tokens/TKN-SYD-00000000-0000-4000-8000-000000000000").status_code)


def test_a_key_revoked_elsewhere_works_until_the_cache_period_ends(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(["metadata"])
    assert status(api) == 404  # authenticated; the token is unknown
    revoke_elsewhere(api)
    later(monkeypatch, settings.API_KEY_CACHE_SECONDS - 1)
    assert status(api) == 404
    later(monkeypatch, settings.API_KEY_CACHE_SECONDS + 1)
    assert status(api) == 401


def test_a_key_revoked_in_this_process_stops_at_once(db: Any) -> None:
    api = make_api(["metadata"])
    assert status(api) == 404
    client = ApiClient.objects.get(prefix=api_keys.prefix_of(str(api.key)))
    admin_ops.revoke_client(None, RequestContext(channel="cli"), client.pk)
    assert status(api) == 401


def test_with_no_cache_a_revocation_elsewhere_stops_the_key_at_once(db: Any, settings: Any) -> None:
    settings.API_KEY_CACHE_SECONDS = 0
    api = make_api(["metadata"])
    assert status(api) == 404
    revoke_elsewhere(api)
    assert status(api) == 401


def test_a_wrong_key_with_a_remembered_prefix_is_refused(db: Any) -> None:
    api = make_api(["metadata"])
    assert status(api) == 404
    prefix = api_keys.prefix_of(str(api.key))
    forged = Api(f"tvk_{prefix}_{'A' * 43}")
    assert status(forged) == 401


def test_the_cache_holds_no_key(db: Any) -> None:
    api = make_api(["metadata"])
    assert status(api) == 404
    assert str(api.key) not in repr(api_keys._verified)
