"""Masked reads: on request, and always for the fields a client may only see masked."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import CARD_MARKER, Api, audit_where, error_of

RECORD = {"card_number": CARD_MARKER, "email": "ada@example.com", "passport": "PA1234567"}
MASKED = {"card_number": "•••• •••• •••• 0003", "email": "a•••@example.com", "passport": "•••••••••"}


def client(*extra: str) -> Api:
    out = StringIO()
    call_command("createapiclient", "masked-svc", "--scopes", "detokenize", *extra, stdout=out)
    return Api(out.getvalue().splitlines()[-1])


def test_it_masks_every_value_when_asked(full_api: Api) -> None:
    token = full_api.tokenize(RECORD)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "mask": True})
    assert response.status_code == 200
    assert response.json()["data"] == MASKED
    assert response.json()["masked"] == ["card_number", "email", "passport"]
    assert CARD_MARKER not in response.content.decode()
    assert "4066" not in response.content.decode()


def test_it_answers_values_in_the_clear_without_mask(full_api: Api) -> None:
    token = full_api.tokenize(RECORD)
    body = full_api.post("/api/v1/detokenize", {"tokenId": token, "mask": False}).json()
    assert body["data"] == RECORD
    assert "masked" not in body


def test_a_client_limited_to_masked_cards_never_receives_one_in_the_clear(full_api: Api, db: Any) -> None:
    token = full_api.tokenize(RECORD)
    masked_client = client("--masked-fields", "card_number")
    for body in (
        {"tokenId": token},
        {"tokenId": token, "mask": False},
        {"tokenId": token, "fields": ["card_number"]},
    ):
        response = masked_client.post("/api/v1/detokenize", body)
        assert response.status_code == 200
        assert response.json()["data"]["card_number"] == MASKED["card_number"]
        assert CARD_MARKER not in response.content.decode()
    whole = masked_client.post("/api/v1/detokenize", {"tokenId": token}).json()
    assert whole["data"]["email"] == "ada@example.com"
    assert whole["masked"] == ["card_number"]


def test_a_client_limited_to_masked_values_for_all_fields(full_api: Api, db: Any) -> None:
    token = full_api.tokenize(RECORD)
    response = client("--masked-fields", "*").post("/api/v1/detokenize", {"tokenId": token})
    assert response.json()["data"] == MASKED


def test_a_masked_read_is_audited_as_masked(full_api: Api) -> None:
    token = full_api.tokenize(RECORD)
    full_api.post("/api/v1/detokenize", {"tokenId": token, "mask": True, "fields": ["email"]})
    [record] = audit_where(action="detokenize", token_id=token)
    assert (record["outcome"], record["detail"], record["fields"]) == ("success", "masked email", ["email"])


@pytest.mark.parametrize("mask", ["yes", 1, None, [True]])
def test_mask_must_be_a_boolean(full_api: Api, mask: object) -> None:
    token = full_api.tokenize(RECORD)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "mask": mask})
    assert response.status_code == 400
    assert error_of(response)["details"] == {"field": "mask", "problem": "must be true or false"}


def test_masked_fields_are_named_like_fields(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="masked fields"):
        client("--masked-fields", "card number")
