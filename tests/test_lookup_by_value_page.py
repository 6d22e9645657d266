"""Finding tokens by value from the Look up page: through the vault's search, audited, never echoed."""

from __future__ import annotations

from typing import Any

from tests.conftest import CARD_MARKER, audit_where, fresh_client
from tokens import vault
from tokens.actors import Actor, RequestContext

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))


def test_an_operator_finds_tokens_by_value_and_the_value_is_not_shown(operators: dict[str, Any]) -> None:
    token = vault.tokenize(SETUP, RequestContext(channel="cli"), {"card_number": CARD_MARKER}).token_id
    response = fresh_client(operators["tokenizer"]).post(
        "/lookup", {"find": "value", "field": "card_number", "value": CARD_MARKER.replace(" ", "")}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert token in page
    assert "1 token with that card_number" in page
    assert CARD_MARKER not in page and CARD_MARKER.replace(" ", "") not in page
    [record] = audit_where(action="search", actor="tokenizer")
    assert (record["outcome"], record["channel"], record["fields"]) == ("success", "ui", ["card_number"])


def test_a_bad_value_is_refused_by_rule_without_echoing_it(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post(
        "/lookup", {"find": "value", "field": "card_number", "value": "4973 1722 4066 0004"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Luhn" in page and "4066" not in page
