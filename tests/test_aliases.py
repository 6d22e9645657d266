"""Format-preserving aliases through the API: issued on tokenize, swapped back like a token."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import time_machine

from tests.conftest import CARD_MARKER, Api, audit_where, error_of
from tokens import aliases, fieldtypes

RECORD = {"card_number": CARD_MARKER, "passport": "PA1234567"}


def tokenize(api: Api, formats: Any, data: dict[str, Any] = RECORD) -> Any:
    return api.post("/api/v1/tokens", {"data": data, "aliases": formats})


def test_tokenize_answers_an_alias_shaped_like_the_card(full_api: Api) -> None:
    response = tokenize(full_api, {"card_number": "card-last4", "passport": "same-format"})
    assert response.status_code == 201
    issued = response.json()["aliases"]
    card, passport = issued["card_number"], issued["passport"]
    assert len(card) == len(CARD_MARKER) and card[-4:] == "0003" and card != CARD_MARKER
    assert re.sub(r"\d", "9", card) == re.sub(r"\d", "9", CARD_MARKER)
    assert not fieldtypes.luhn_ok(card.replace(" ", ""))
    assert re.fullmatch(r"[A-Z]{2}\d{7}", passport) and passport != "PA1234567"


def test_an_alias_detokenizes_like_its_token(full_api: Api) -> None:
    created = tokenize(full_api, {"card_number": "card-last4"}).json()
    alias = created["aliases"]["card_number"]
    by_alias = full_api.post("/api/v1/detokenize", {"alias": alias, "field": "card_number"})
    by_token = full_api.post("/api/v1/detokenize", {"tokenId": created["tokenId"]})
    assert by_alias.status_code == 200
    assert by_alias.json() == by_token.json()
    records = audit_where(action="detokenize", token_id=created["tokenId"])
    assert [r["outcome"] for r in records] == ["success", "success"]
    assert "alias" in records[0]["detail"] and alias not in str(records)


def test_an_unknown_alias_looks_like_an_unknown_token(full_api: Api) -> None:
    unknown_alias = full_api.post(
        "/api/v1/detokenize", {"alias": "4000 1234 5678 0003", "field": "card_number"}
    )
    unknown_token = full_api.post("/api/v1/detokenize", {"tokenId": "TKN-SYD-zzzz"})
    assert unknown_alias.status_code == unknown_token.status_code == 404
    assert error_of(unknown_alias) == error_of(unknown_token)


def test_an_alias_of_one_field_does_not_open_another(full_api: Api) -> None:
    alias = tokenize(full_api, {"card_number": "card-last4"}).json()["aliases"]["card_number"]
    response = full_api.post("/api/v1/detokenize", {"alias": alias, "field": "passport"})
    assert response.status_code == 404


def test_an_alias_expires_and_is_purged_with_its_token(full_api: Api) -> None:
    now = int(time.time())
    created = tokenize(full_api, {"card_number": "card-last4"}, {**RECORD, "TTL": now + 60}).json()
    body = {"alias": created["aliases"]["card_number"], "field": "card_number"}
    with time_machine.travel(now + 120, tick=False):
        assert full_api.post("/api/v1/detokenize", body).status_code == 404
    created = tokenize(full_api, {"card_number": "card-last4"}).json()
    body = {"alias": created["aliases"]["card_number"], "field": "card_number"}
    assert full_api.delete(f"/api/v1/tokens/{created['tokenId']}").status_code == 204
    assert full_api.post("/api/v1/detokenize", body).status_code == 404


def test_a_colliding_alias_is_drawn_again(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = tokenize(full_api, {"card_number": "card-last4"}).json()["aliases"]["card_number"]
    draws = iter([taken, taken, "4000 0000 0000 0003"])
    monkeypatch.setattr(aliases, "generate", lambda kind, field, value: next(draws))
    again = tokenize(full_api, {"card_number": "card-last4"})
    assert again.status_code == 201
    assert again.json()["aliases"]["card_number"] == "4000 0000 0000 0003"
    # The first holder keeps its alias.
    first = full_api.post("/api/v1/detokenize", {"alias": taken, "field": "card_number"})
    assert first.json()["tokenId"] != again.json()["tokenId"]


@pytest.mark.parametrize(
    ("formats", "field"),
    [
        ({"cvc": "card-last4"}, "aliases.cvc"),  # no such field in the data
        ({"card_number": "last4"}, "aliases.card_number"),  # unknown format
        ({"passport": "card-last4"}, "aliases.passport"),  # not card-shaped
        (["card_number"], "aliases"),
    ],
)
def test_it_refuses_an_alias_it_cannot_make(full_api: Api, formats: Any, field: str) -> None:
    response = tokenize(full_api, formats)
    assert response.status_code == 400
    assert error_of(response)["details"]["field"] == field
    assert "PA1234567" not in response.content.decode() and "0003" not in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        {"alias": "x"},
        {"field": "card_number"},
        {"alias": "x", "field": "card_number", "tokenId": "TKN-SYD-x"},
    ],
)
def test_detokenize_takes_a_token_or_an_alias_with_its_field(full_api: Api, body: dict[str, Any]) -> None:
    assert full_api.post("/api/v1/detokenize", body).status_code == 400
