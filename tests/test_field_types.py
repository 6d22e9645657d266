"""Typed fields: the rule each type enforces, its normalized form and its mask."""

from __future__ import annotations

from typing import Any

import pytest

from tokens import fieldtypes
from tokens.fieldtypes import TypeMismatch

# Published test card numbers (card networks' sandbox numbers), not generated here.
VALID_CARDS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "5555555555554444",
    "378282246310005",
    "3782 822463 10005",
    "6011111111111117",
    "3056930009020004",
    "6759649826438453",
    "4000056655665556",
]
INVALID_CARDS = [
    "4111111111111112",  # Luhn fails
    "4111 1111 1111 111a",
    "4111  1111 1111 1111",  # double space
    "4111.1111.1111.1111",
    " 4111111111111111",
    "41111111111",  # 11 digits
    "41111111111111111111",  # 20 digits
    "",
    "٤١١١١١١١١١١١١١١١",  # Arabic-Indic digits
]


@pytest.mark.parametrize("value", VALID_CARDS)
def test_it_accepts_a_card_number(value: str) -> None:
    assert fieldtypes.normalize("card_number", value) == value.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("value", INVALID_CARDS)
def test_it_refuses_a_bad_card_number_without_echoing_it(value: str) -> None:
    with pytest.raises(TypeMismatch) as caught:
        fieldtypes.normalize("card_number", value)
    if value.strip():
        assert value.strip() not in str(caught.value)


@pytest.mark.parametrize("value", ["123", "0000", "9999"])
def test_it_accepts_a_cvc(value: str) -> None:
    assert fieldtypes.normalize("cvc", value) == value


@pytest.mark.parametrize("value", ["12", "12345", "12a", "１２３", " 123"])
def test_it_refuses_a_bad_cvc(value: str) -> None:
    with pytest.raises(TypeMismatch, match="3 or 4 digits"):
        fieldtypes.normalize("cvv", value)


@pytest.mark.parametrize("value", ["2000-02-29", "1999-12-31", "1970-01-01"])
def test_it_accepts_a_real_date(value: str) -> None:
    assert fieldtypes.normalize("date_of_birth", value) == value


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1900-02-29", "real calendar day"),
        ("2023-04-31", "real calendar day"),
        ("2023-13-01", "real calendar day"),
        ("20230101", "YYYY-MM-DD"),
        ("2023-1-01", "YYYY-MM-DD"),
        ("01/02/2023", "YYYY-MM-DD"),
    ],
)
def test_it_refuses_a_date_that_is_not_a_calendar_day(value: str, rule: str) -> None:
    with pytest.raises(TypeMismatch, match=rule):
        fieldtypes.normalize("dob", value)


@pytest.mark.parametrize(("value", "normal"), [("078-05-1120", "078051120"), ("219099999", "219099999")])
def test_it_accepts_a_us_ssn(value: str, normal: str) -> None:
    assert fieldtypes.normalize("ssn", value) == normal


@pytest.mark.parametrize(
    "value",
    ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "123-456-789", "12-345-6789"],
)
def test_it_refuses_an_ssn_never_issued_or_misshapen(value: str) -> None:
    with pytest.raises(TypeMismatch):
        fieldtypes.normalize("ssn", value)


def test_it_compares_emails_in_lower_case() -> None:
    assert fieldtypes.normalize("email", "Ada.Lovelace@Example.COM") == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    "value", ["ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@-x.com"]
)
def test_it_refuses_a_bad_email(value: str) -> None:
    with pytest.raises(TypeMismatch, match="email address"):
        fieldtypes.normalize("email", value)


def test_any_other_field_is_a_string_stored_and_compared_as_given() -> None:
    assert fieldtypes.normalize("drivers_license", "AbC 123") == "AbC 123"


@pytest.mark.parametrize(
    ("field", "value", "masked"),
    [
        ("card_number", "4111 1111 1111 1111", "•••• •••• •••• 1111"),
        ("card_number", "378282246310005", "•••••••••••0005"),
        ("cvc", "1234", "•••"),
        ("date_of_birth", "1992-02-29", "••••-••-••"),
        ("ssn", "078-05-1120", "•••-••-1120"),
        ("ssn", "078051120", "•••-••-1120"),
        ("email", "ada@example.com", "a•••@example.com"),
        ("drivers_license", "987654321", "•••••••••"),
        ("passport", "X" * 40, "•" * 16 + "…"),
    ],
)
def test_it_masks_by_type(field: str, value: str, masked: str) -> None:
    assert fieldtypes.mask(field, value) == masked


def test_a_date_mask_shows_no_digit_of_the_date() -> None:
    masked = fieldtypes.mask("date_of_birth", "1992-02-29")
    assert masked == "••••-••-••" and not any(c.isdigit() for c in masked)


def test_a_value_stored_before_its_type_was_declared_is_masked_by_length_only() -> None:
    assert fieldtypes.mask("card_number", "not-a-card") == "•" * 10


def test_vault_field_types_adds_and_overrides_names(settings: Any) -> None:
    settings.VAULT_FIELD_TYPES = {**settings.VAULT_FIELD_TYPES, "pan": "card", "cvc": "string"}
    with pytest.raises(TypeMismatch):
        fieldtypes.normalize("pan", "4111")
    assert fieldtypes.normalize("cvc", "twelve") == "twelve"


def test_settings_and_module_know_the_same_types() -> None:
    from django.conf import settings

    assert set(settings.FIELD_TYPE_NAMES) == set(fieldtypes.TYPES)
    assert set(settings.VAULT_FIELD_TYPES.values()) <= set(fieldtypes.TYPES)
