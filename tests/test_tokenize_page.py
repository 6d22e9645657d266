"""Tokenizing from the page: rows of field name and value, an expiry in days."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings

from tests.conftest import CARD_MARKER, MARKER, audit_where, fresh_client
from tokens import vault
from tokens.actors import Actor, RequestContext

READER = Actor(
    kind="system", id="test", name="test-reader", permissions=frozenset({"detokenize", "metadata"})
)


def token_in(page: bytes) -> str:
    found = re.search(r"TKN-SYD-[0-9a-f-]{36}", page.decode())
    assert found, "the page shows a token"
    return found.group(0)


def test_it_tokenizes_the_rows_into_one_token(operators: dict[str, Any]) -> None:
    data = {"name": ["card_number", "cvc", "", ""], "value": [CARD_MARKER, "123", "", ""], "days": "3"}
    before = int(time.time())
    response = fresh_client(operators["tokenizer"]).post("/tokenize", data)
    assert response.status_code == 200
    assert CARD_MARKER.encode() not in response.content
    token = token_in(response.content)
    revealed = vault.detokenize(READER, RequestContext(channel="cli"), token)
    assert revealed.data == {"card_number": CARD_MARKER, "cvc": "123"}
    assert before + 3 * 86400 <= revealed.expires_at <= int(time.time()) + 3 * 86400
    [record] = audit_where(action="tokenize", actor="tokenizer")
    assert (record["outcome"], record["channel"], record["fields"]) == (
        "success",
        "ui",
        ["card_number", "cvc"],
    )


def test_it_uses_the_default_retention_when_no_days_are_given(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["a"], "value": ["b"], "days": ""}
    )
    info = vault.metadata(READER, RequestContext(channel="cli"), token_in(response.content))
    assert info.expires_at - info.created_at == settings.VAULT_DEFAULT_RETENTION


def test_it_shows_the_token_with_a_copy_button(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": ["a"], "value": ["b"]})
    page = response.content.decode()
    assert '<span class="token" id="token">' in page
    assert 'data-copy="token"' in page


def test_it_never_echoes_values_when_the_form_has_a_problem(operators: dict[str, Any]) -> None:
    data = {"name": ["card_number", "card_number"], "value": [MARKER, "x"], "days": "3"}
    response = fresh_client(operators["tokenizer"]).post("/tokenize", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "row 2: that field name is already used above" in page
    assert "the values were cleared" in page
    assert MARKER not in page
    assert 'value="card_number"' in page  # the names are kept
    assert audit_where(action="tokenize") == []


def test_it_refuses_a_value_without_a_name(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": [""], "value": [MARKER]})
    assert response.status_code == 400
    assert b"row 1: give the field a name" in response.content
    assert MARKER.encode() not in response.content


def test_it_keeps_the_name_ttl_for_the_expiry(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["TTL"], "value": ["9999999999"]}
    )
    assert response.status_code == 400
    assert b"row 1: &#x27;TTL&#x27; is a reserved name" in response.content


def test_it_refuses_an_expiry_beyond_the_longest_retention(operators: dict[str, Any]) -> None:
    too_long = str(settings.VAULT_MAX_RETENTION // 86400 + 1)
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["a"], "value": ["b"], "days": too_long}
    )
    assert response.status_code == 400
    assert b"expiry: a whole number of days from 1 to 400" in response.content


def test_it_reports_the_vaults_own_validation_and_audits_it(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": ["ttl"], "value": ["b"]})
    assert response.status_code == 400
    assert b"data.ttl: &#x27;ttl&#x27; is a reserved name" in response.content
    [record] = audit_where(action="tokenize", actor="tokenizer")
    assert record["outcome"] == "invalid"
