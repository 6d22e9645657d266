"""Typed fields through the JSON API: a value breaking its type is refused by name and rule."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import CARD_MARKER, Api, audit_records


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("card_number", "4973 1722 4066 0004", "Luhn check failed"),
        ("cvc", "98765", "3 or 4 digits"),
        ("date_of_birth", "1991-02-29", "real calendar day"),
        ("ssn", "666-45-6789", "never issued"),
        ("email", "not-an-email", "email address"),
    ],
)
def test_it_refuses_a_value_that_breaks_its_type(
    full_api: Api, caplog: pytest.LogCaptureFixture, field: str, value: str, rule: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = full_api.post("/api/v1/tokens", {"data": {field: value, "note": "ok"}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"]["field"] == f"data.{field}"
    assert rule in error["details"]["problem"]
    assert value not in response.content.decode()
    assert value not in caplog.text
    assert value not in str(audit_records())


def test_it_stores_a_typed_value_exactly_as_given(full_api: Api) -> None:
    token = full_api.tokenize({"card_number": CARD_MARKER, "email": "Ada@Example.com", "cvc": "0123"})
    data = full_api.post("/api/v1/detokenize", {"tokenId": token}).json()["data"]
    assert data == {"card_number": CARD_MARKER, "email": "Ada@Example.com", "cvc": "0123"}


def test_the_seed_fields_keep_working_unchanged(full_api: Api) -> None:
    data = {"drivers_license": "987654321", "medicare_card": "1234 56789 0", "tax_file_number": "111 111 111"}
    token = full_api.tokenize(data)
    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).json()["data"] == data
