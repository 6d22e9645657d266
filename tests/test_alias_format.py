"""Format-preserving aliases: shape kept, value not, never a valid card."""

from __future__ import annotations

import re

import pytest

from tokens import aliases, fieldtypes
from tokens.fieldtypes import TypeMismatch

CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117"]


def _shape(value: str) -> str:
    return re.sub(r"[0-9]", "9", re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", value)))


@pytest.mark.parametrize("card", CARDS)
def test_a_card_alias_keeps_length_separators_and_last_four(card: str) -> None:
    alias = aliases.generate("card-last4", "card_number", card)
    assert len(alias) == len(card)
    assert _shape(alias) == _shape(card)
    assert alias[-4:] == card[-4:]
    assert alias != card


@pytest.mark.parametrize("card", CARDS)
def test_a_card_alias_always_fails_luhn(card: str) -> None:
    for _ in range(2000):
        alias = aliases.generate("card-last4", "card_number", card)
        digits = re.sub(r"\D", "", alias)
        assert not fieldtypes.luhn_ok(digits)
        with pytest.raises(TypeMismatch):
            fieldtypes.normalize("card_number", alias)


class _Store:
    """The vault's conditional write, in memory: refuses an alias it holds."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.refused = 0

    def put_if_absent(self, alias: str) -> bool:
        if alias in self.held:
            self.refused += 1
            return False
        self.held.add(alias)
        return True


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("card-last4", "card_number", "4111 1111 1111 1111"), ("same-format", "passport", "PA1234567")],
)
def test_claimed_aliases_are_unique_over_a_hundred_thousand(kind: str, field: str, value: str) -> None:
    store = _Store()
    claimed = [aliases.claim(kind, field, value, store.put_if_absent) for _ in range(100_000)]
    assert len(set(claimed)) == 100_000
    # Collisions are retried, and rare: the format leaves billions of choices.
    assert store.refused < 20


def test_a_format_with_no_free_alias_left_fails_clearly() -> None:
    with pytest.raises(aliases.NoFreeAlias):
        aliases.claim("same-format", "passport", "AB1234", lambda alias: False)


def test_the_free_digits_are_spread_over_all_ten_values() -> None:
    counts = [0] * 10
    for _ in range(5000):
        alias = aliases.generate("card-last4", "card_number", "4111111111111111")
        for char in alias[1:-4]:  # the first digit absorbs the Luhn adjustment sometimes
            counts[int(char)] += 1
    expected = 5000 * 11 / 10
    assert all(0.9 * expected < n < 1.1 * expected for n in counts), counts


@pytest.mark.parametrize("value", ["AB-12 cd 34", "Müller-Lüdenscheidt", "x1y2z3w4"])
def test_same_format_keeps_case_digits_and_separators(value: str) -> None:
    alias = aliases.generate("same-format", "note", value)
    assert len(alias) == len(value)
    for a, v in zip(alias, value, strict=True):
        if v.isdigit():
            assert a.isdigit()
        elif v.isalpha():
            assert a.isalpha() and a.isascii() and a.isupper() == v.isupper()
        else:
            assert a == v


def test_same_format_on_a_card_field_never_yields_a_valid_card() -> None:
    for _ in range(2000):
        alias = aliases.generate("same-format", "card_number", "4111 1111 1111 1111")
        assert not fieldtypes.luhn_ok(re.sub(r"\D", "", alias))


@pytest.mark.parametrize(
    ("kind", "value"),
    [("card-last4", "4111 1111 1"), ("same-format", "a-b-c"), ("card-last4", "ab12345678901")],
)
def test_a_value_too_short_or_not_card_shaped_gets_no_alias(kind: str, value: str) -> None:
    with pytest.raises(TypeMismatch):
        aliases.generate(kind, "pan", value)
