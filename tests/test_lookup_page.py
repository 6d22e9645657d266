"""Looking a token up: metadata only, never a value."""

from __future__ import annotations

from typing import Any

from tests.conftest import MARKER, audit_where, fresh_client
from tokens import vault
from tokens.actors import Actor, RequestContext

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))


def test_it_shows_region_dates_and_field_names_without_values(operators: dict[str, Any]) -> None:
    info = vault.tokenize(SETUP, RequestContext(channel="cli"), {"passport": MARKER, "dob": "1990-01-01"})
    response = fresh_client(operators["tokenizer"]).post("/lookup", {"token": info.token_id})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<dt>Origin region</dt><dd>SYD</dd>" in page
    assert "<dt>Fields</dt><dd>dob, passport</dd>" in page
    assert MARKER not in page and "1990-01-01" not in page
    [record] = audit_where(action="metadata", actor="tokenizer")
    assert (record["outcome"], record["token_id"], record["channel"]) == ("success", info.token_id, "ui")


def test_it_says_not_found_for_an_unknown_token_and_audits_it(operators: dict[str, Any]) -> None:
    unknown = "TKN-SYD-0b2a6f7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    response = fresh_client(operators["ttl_manager"]).post("/lookup", {"token": unknown})
    assert response.status_code == 404
    assert b"No such token, or it has expired." in response.content
    [record] = audit_where(action="metadata", actor="ttl_manager")
    assert (record["outcome"], record["token_id"]) == ("not_found", unknown)


def test_it_asks_for_a_token_id_when_none_is_given(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/lookup", {"token": "  "})
    assert response.status_code == 400
    assert b"paste a token id" in response.content
