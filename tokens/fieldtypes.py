"""Declared field types: what a value must look like, the normalized form that
search and deduplication compare, and how a value is masked.

Values are stored exactly as given; normalization is only for comparison.
A message never repeats the value it rejects.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

BULLET = "•"
DIGIT_SEPARATORS = re.compile(r"^[0-9]+(?:[ -][0-9]+)*$")
SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STRING_MASK_MAX = 16


class TypeMismatch(ValueError):
    """The value breaks its field type's rule (the message names the rule, not the value)."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _card(value: str) -> str:
    if not DIGIT_SEPARATORS.fullmatch(value):
        raise TypeMismatch("a card number is digits, optionally grouped by single spaces or dashes")
    digits = _digits(value)
    if not 12 <= len(digits) <= 19:
        raise TypeMismatch("a card number has 12 to 19 digits")
    if not luhn_ok(digits):
        raise TypeMismatch("not a valid card number (Luhn check failed)")
    return digits


def _cvc(value: str) -> str:
    if not (value.isascii() and value.isdigit() and len(value) in (3, 4)):
        raise TypeMismatch("a card security code is 3 or 4 digits")
    return value


def _date(value: str) -> str:
    if not ISO_DATE.fullmatch(value):
        raise TypeMismatch("a date is written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise TypeMismatch("not a real calendar day") from None


def _us_ssn(value: str) -> str:
    match = SSN.fullmatch(value)
    if not match or not value.isascii():
        raise TypeMismatch("a US social security number is 9 digits, written AAA-GG-SSSS or AAAGGSSSS")
    area, group, serial = match.groups()
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        raise TypeMismatch("not a valid US social security number (area, group or serial never issued)")
    return area + group + serial


def _email(value: str) -> str:
    if len(value) > 254 or not value.isascii() or not EMAIL.fullmatch(value):
        raise TypeMismatch("an email address is local-part@domain, at most 254 ASCII characters")
    return value.lower()


def _string(value: str) -> str:
    return value


def _mask_card(value: str) -> str:
    # Keep separators and the last four digits; every other digit becomes a bullet.
    keep = 4
    out = []
    for char in reversed(value):
        if char.isdigit():
            out.append(char if keep > 0 else BULLET)
            keep -= 1
        else:
            out.append(char)
    return "".join(reversed(out))


def _mask_cvc(value: str) -> str:
    return BULLET * 3


def _mask_date(value: str) -> str:
    # The shape only: month and day narrow a date of birth down as much as a year.
    return f"{BULLET * 4}-{BULLET * 2}-{BULLET * 2}"


def _mask_ssn(value: str) -> str:
    return f"{BULLET * 3}-{BULLET * 2}-{_digits(value)[-4:]}"


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return f"{local[:1]}{BULLET * 3}@{domain}"


def _mask_string(value: str) -> str:
    # Length only (capped, so a long value does not fill a page).
    return BULLET * min(len(value), STRING_MASK_MAX) + ("…" if len(value) > STRING_MASK_MAX else "")


@dataclass(frozen=True)
class FieldType:
    name: str
    normalize: Callable[[str], str]  # raises TypeMismatch
    mask: Callable[[str], str]


TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("card", _card, _mask_card),
        FieldType("cvc", _cvc, _mask_cvc),
        FieldType("date", _date, _mask_date),
        FieldType("us_ssn", _us_ssn, _mask_ssn),
        FieldType("email", _email, _mask_email),
        FieldType("string", _string, _mask_string),
    )
}


def type_of(field: str) -> FieldType:
    return TYPES[settings.VAULT_FIELD_TYPES.get(field, "string")]


def normalize(field: str, value: str) -> str:
    """The comparable form of a value; TypeMismatch when it breaks its type."""
    return type_of(field).normalize(value)


def mask(field: str, value: str) -> str:
    """What may be shown of a value without revealing it."""
    try:
        shaped(field, value)
    except TypeMismatch:
        # Stored before its type was declared: show length only.
        return _mask_string(value)
    return type_of(field).mask(value)


def shaped(field: str, value: str) -> str:
    """The comparable form of a value that has its type's shape, valid or not.

    A honeytoken's card fails the Luhn check and its SSN has an area never
    issued (tokens/honeytokens.py), yet it must be masked and fingerprinted
    exactly as a real one, or a masked read would tell decoys apart. Only the
    checks a well-shaped value can fail are skipped; TypeMismatch otherwise.
    """
    kind = type_of(field).name
    if kind == "card" and DIGIT_SEPARATORS.fullmatch(value) and 12 <= len(_digits(value)) <= 19:
        return _digits(value)
    match = SSN.fullmatch(value) if kind == "us_ssn" and value.isascii() else None
    if match:
        return "".join(match.groups())
    return normalize(field, value)
