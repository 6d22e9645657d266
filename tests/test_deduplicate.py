"""Deduplication: a live token holding the same record is answered instead of a new one."""

from __future__ import annotations

import time
from typing import Any

import time_machine

from tests.conftest import CARD_MARKER, Api, audit_where

RECORD = {"card_number": CARD_MARKER, "cvc": "123"}


def tokenize(api: Api, data: dict[str, Any], **extra: Any) -> Any:
    return api.post("/api/v1/tokens", {"data": data, **extra})


def test_it_answers_the_live_token_holding_the_same_record(full_api: Api) -> None:
    first = tokenize(full_api, RECORD)
    assert first.status_code == 201
    again = tokenize(full_api, {"card_number": CARD_MARKER.replace(" ", ""), "cvc": "123"}, deduplicate=True)
    assert again.status_code == 200
    assert again.json() == {
        "tokenId": first.json()["tokenId"],
        "TTL": first.json()["TTL"],
        "deduplicated": True,
    }


def test_a_record_with_other_fields_or_values_is_a_new_token(full_api: Api) -> None:
    first = tokenize(full_api, RECORD, deduplicate=True).json()["tokenId"]
    extra = tokenize(full_api, {**RECORD, "note": "x"}, deduplicate=True)
    other = tokenize(full_api, {**RECORD, "cvc": "124"}, deduplicate=True)
    assert extra.status_code == other.status_code == 201
    assert len({first, extra.json()["tokenId"], other.json()["tokenId"]}) == 3


def test_without_deduplicate_every_call_makes_a_token(full_api: Api) -> None:
    assert tokenize(full_api, RECORD).json()["tokenId"] != tokenize(full_api, RECORD).json()["tokenId"]


def test_an_expired_or_deleted_twin_is_not_answered(full_api: Api) -> None:
    now = int(time.time())
    short = tokenize(full_api, {**RECORD, "TTL": now + 60}).json()["tokenId"]
    with time_machine.travel(now + 120, tick=False):
        fresh = tokenize(full_api, RECORD, deduplicate=True)
        assert fresh.status_code == 201 and fresh.json()["tokenId"] != short
        full_api.delete(f"/api/v1/tokens/{fresh.json()['tokenId']}")
        assert tokenize(full_api, RECORD, deduplicate=True).status_code == 201


def test_a_deduplicated_answer_is_audited(full_api: Api) -> None:
    token = tokenize(full_api, RECORD).json()["tokenId"]
    tokenize(full_api, RECORD, deduplicate=True)
    records = audit_where(action="tokenize", token_id=token)
    assert [r["detail"] for r in records] == ["", "deduplicated"]


def test_deduplicate_must_be_a_boolean(full_api: Api) -> None:
    response = tokenize(full_api, RECORD, deduplicate="yes")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "deduplicate"
