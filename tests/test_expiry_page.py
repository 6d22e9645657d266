"""Changing a token's expiry within limits, and purging it after confirmation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import audit_where, fresh_client
from tokens import storage, vault
from tokens.actors import Actor, RequestContext

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize", "metadata"}))


def utc_input(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(seconds))


@pytest.fixture
def token(db: Any) -> str:
    return vault.tokenize(SETUP, RequestContext(channel="cli"), {"ssn": "078-05-1120"}).token_id


def expiry_of(token: str) -> int:
    return vault.metadata(SETUP, RequestContext(channel="cli"), token).expires_at


def test_it_shows_the_token_and_the_limits(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post("/expiry", {"token": token})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="datetime-local"' in page
    latest = utc_input(
        vault.metadata(SETUP, RequestContext(), token).created_at + settings.VAULT_MAX_RETENTION
    )
    assert f'max="{latest}"' in page


@pytest.mark.parametrize("days", [1, 300])
def test_it_shortens_or_extends_the_expiry(operators: dict[str, Any], token: str, days: int) -> None:
    wanted = utc_input(time.time() + days * 86400)
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": wanted}
    )
    assert response.status_code == 200
    assert b"The new expiry is saved." in response.content
    assert utc_input(expiry_of(token)) == wanted
    [record] = audit_where(action="change_expiry", actor="ttl_manager")
    assert record["outcome"] == "success" and record["detail"].startswith("TTL ")


def test_it_refuses_an_expiry_past_the_longest_retention(operators: dict[str, Any], token: str) -> None:
    before = expiry_of(token)
    too_late = utc_input(time.time() + settings.VAULT_MAX_RETENTION + 86400)
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": too_late}
    )
    assert response.status_code == 400
    assert b"beyond the maximum retention" in response.content
    assert expiry_of(token) == before
    [record] = audit_where(action="change_expiry", actor="ttl_manager")
    assert record["outcome"] == "invalid"


def test_it_refuses_an_expiry_in_the_past(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": utc_input(time.time() - 3600)}
    )
    assert response.status_code == 400
    assert b"TTL is in the past" in response.content


def test_it_refuses_a_date_it_cannot_read(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": "next tuesday"}
    )
    assert response.status_code == 400
    assert b"new expiry: a date and time" in response.content


def test_it_asks_before_purging(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post("/expiry", {"step": "purge", "token": token})
    assert response.status_code == 200
    assert b"Purge this token?" in response.content
    assert b'name="confirm" value="yes"' in response.content
    assert storage.get(token) is not None
    assert audit_where(action="delete") == []


def test_it_purges_once_confirmed(operators: dict[str, Any], token: str) -> None:
    client = fresh_client(operators["ttl_manager"])
    response = client.post("/expiry", {"step": "purge", "confirm": "yes", "token": token})
    assert response.status_code == 200
    assert b"and its values are deleted" in response.content
    assert storage.get(token) is None
    [record] = audit_where(action="delete", actor="ttl_manager")
    assert (record["outcome"], record["token_id"]) == ("success", token)
