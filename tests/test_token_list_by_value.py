"""The token list filtered by value: a posted form over the vault's search,
shown in the list's table with its row actions, the value never echoed or kept."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest
import time_machine

from tests.conftest import CARD_MARKER, audit_where, fresh_client, make_api
from tests.test_token_list import actions_of
from tokens import audit, listing, vault
from tokens import operators as rights
from tokens.actors import Actor, RequestContext

DIGITS = CARD_MARKER.replace(" ", "")
SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize", "delete"}))


def find(user: Any, field: str = "card_number", value: str = DIGITS) -> Any:
    return fresh_client(user).post("/tokens", {"field": field, "value": value})


def shown_ids(page: str) -> list[str]:
    return re.findall(r'<td class="mono" data-label="Token">([^<]+)</td>', page)


def value_box_is_empty(page: str) -> bool:
    box = re.search(r'<input type="password" id="value"[^>]*>', page)
    assert box is not None
    return re.search(r"\svalue=", box.group(0)) is None


def made(count: int, data: dict[str, str], name: str = "billing-service") -> list[str]:
    """`count` tokens of one API client, a second apart, oldest first."""
    api = make_api(["tokenize"], name)
    now = time.time()
    tokens = []
    for n in range(count):
        with time_machine.travel(now - count + n, tick=False):
            tokens.append(api.tokenize(data))
    return tokens


def test_it_shows_the_tokens_holding_the_value_newest_first_and_never_the_value(
    operators: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    older, newer = made(2, {"card_number": CARD_MARKER, "cvc": "123"})
    other = made(1, {"card_number": "4111 1111 1111 1111"}, "crm-service")[0]
    response = find(operators["tokenizer"])
    assert response.status_code == 200
    page = response.content.decode()
    assert shown_ids(page) == [newer, older] and other not in page
    assert "2 tokens with that card_number" in page
    assert '<td data-label="Fields">card_number, cvc</td>' in page
    assert '<td data-label="Created by">billing-service</td>' in page
    for text in (page, caplog.text, str(audit.all_records())):
        assert CARD_MARKER not in text and DIGITS not in text
    for url in re.findall(r'(?:href|action)="([^"]*)"', page):
        assert "4973" not in url and "card_number" not in url
    assert value_box_is_empty(page)


def test_it_is_the_vaults_search_audited_and_counted_once(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(vault.metrics, "record", lambda op, outcome, *_: counted.append((op, outcome)))
    made(1, {"card_number": CARD_MARKER})
    counted.clear()
    assert find(operators["tokenizer"]).status_code == 200
    assert counted == [("search", "success")]
    [record] = audit_where(action="search")
    assert (record["outcome"], record["channel"], record["actor"], record["fields"]) == (
        "success",
        "ui",
        "tokenizer",
        ["card_number"],
    )
    assert record["detail"].startswith("fingerprint f") and record["detail"].endswith("found 1")
    assert audit_where(action="list_tokens") == []


def test_a_value_nobody_holds_finds_nothing(operators: dict[str, Any]) -> None:
    made(1, {"card_number": "4111 1111 1111 1111"})
    page = find(operators["tokenizer"]).content.decode()
    assert "0 tokens with that card_number" in page and shown_ids(page) == []


def test_it_says_so_when_search_stopped_at_its_limit(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "SEARCH_LIMIT", 2)
    tokens = made(3, {"card_number": CARD_MARKER})
    page = find(operators["tokenizer"]).content.decode()
    assert shown_ids(page) == [tokens[2], tokens[1]]
    assert "These are the newest 2: search returns at most 2 tokens" in page
    monkeypatch.setattr(vault, "SEARCH_LIMIT", 4)
    assert "These are the newest" not in find(operators["tokenizer"]).content.decode()


@pytest.mark.parametrize(("role", "actions"), [
    ("tokenizer", {"Look up"}),
    ("detokenizer", {"Look up", "Reveal"}),
    ("ttl_manager", {"Look up", "Change expiry", "Purge"}),
    ("everyone", {"Look up", "Reveal", "Change expiry", "Purge"}),
])  # fmt: skip
def test_each_match_offers_the_actions_the_operator_may_take(
    operators: dict[str, Any], role: str, actions: set[str]
) -> None:
    made(1, {"card_number": CARD_MARKER})
    page = find(operators[role]).content.decode()
    assert len(shown_ids(page)) == 1
    assert {a.removesuffix(" of") for a in actions_of(page)} == actions


@pytest.mark.parametrize("role", ["auditor", "vault_admin", "nobody"])
def test_operators_without_the_look_up_right_are_refused(operators: dict[str, Any], role: str) -> None:
    made(1, {"card_number": CARD_MARKER})
    response = find(operators[role])
    assert response.status_code == 403
    assert b"4973" not in response.content
    assert audit_where(action="search") == []
    assert [r["detail"] for r in audit_where(action="page_forbidden")] == ["POST pages:tokens"]


def test_without_the_search_right_the_form_is_not_shown_and_the_vault_refuses(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = rights.permissions_of
    monkeypatch.setattr(rights, "permissions_of", lambda user: granted(user) - {"search"})
    client = fresh_client(operators["tokenizer"])
    listed = client.get("/tokens")
    assert listed.status_code == 200
    assert b"Find by value" not in listed.content and b'id="value"' not in listed.content
    made(1, {"card_number": CARD_MARKER})
    refused = client.post("/tokens", {"field": "card_number", "value": DIGITS})
    assert refused.status_code == 403
    [record] = audit_where(action="search")
    assert record["outcome"] == "denied"


@pytest.mark.parametrize(("field", "value", "words", "kept"), [
    ("card_number", "4973 1722 4066 0004", "Luhn", "card_number"),
    ("9lives", DIGITS, "field", ""),
    ("card_number", "", "Value: is required", "card_number"),
])  # fmt: skip
def test_a_bad_field_or_value_is_said_in_plain_words_with_the_value_box_empty(
    operators: dict[str, Any], field: str, value: str, words: str, kept: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = find(operators["tokenizer"], field, value)
    assert response.status_code == 400
    page = response.content.decode()
    [alert] = re.findall(r'<p class="alert" role="alert">([^<]+)</p>', page)
    assert words in alert
    assert f'id="field" name="field" value="{kept}"' in page
    assert value_box_is_empty(page)
    assert "4066" not in page and "4973" not in page
    assert "4066" not in caplog.text and "4066" not in str(audit.all_records())
    [record] = audit_where(action="search")
    assert record["outcome"] == "invalid"


def test_the_search_rate_limit_is_answered_in_plain_words(operators: dict[str, Any], settings: Any) -> None:
    settings.VAULT_SEARCH_RATE_LIMIT = 2
    client = fresh_client(operators["tokenizer"])
    ask = {"field": "ssn", "value": "078-05-1120"}
    assert [client.post("/tokens", ask).status_code for _ in range(3)] == [200, 200, 429]
    response = client.post("/tokens", ask)
    page = response.content.decode()
    assert re.search(r"Too many searches in a minute: wait \d+ seconds?, then search again\.", page)
    assert int(response["Retry-After"]) > 0
    assert 'id="field" name="field" value="ssn"' in page and "078-05-1120" not in page


def test_a_token_gone_since_the_search_is_left_out() -> None:
    ctx = RequestContext(channel="cli")
    kept = vault.tokenize(SETUP, ctx, {"pan": "1"})
    gone = vault.tokenize(SETUP, ctx, {"pan": "2"})
    vault.delete(SETUP, ctx, gone.token_id)
    found = listing.described(
        [(gone.token_id, gone.expires_at), (kept.token_id, kept.expires_at)], int(time.time()), 100
    )
    assert [t.token_id for t in found.tokens] == [kept.token_id] and not found.limited
    assert (found.tokens[0].fields, found.tokens[0].created_by) == (("pan",), "system:test")
