"""Refusals on the pages in the pages' words: labels, days, no API keys."""

from __future__ import annotations

import pytest

from tokens.pages.wording import plain


@pytest.mark.parametrize(
    ("api", "page"),
    [
        ("TTL: TTL is beyond the maximum retention of 34560000 seconds", "A token is kept at most 400 days."),
        (
            "TTL: a token lives at most 34560000 seconds from its creation",
            "A token lives at most 400 days from its creation.",
        ),
        ("TTL: TTL is in the past", "The new expiry is in the past: pick a later time."),
        ("data.TTL: TTL is in the past", "The new expiry is in the past: pick a later time."),
        ("role: unknown role ''", "Pick a role from the list."),
        ("roles: unknown role 'x'", "Pick roles from the list."),
        (
            "data.card_number: a card number has 12 to 19 digits",
            "Field “card_number”: a card number has 12 to 19 digits.",
        ),
        ("data: at most 32 fields per token", "At most 32 fields per token."),
        ("hours: a whole number from 1 to 168", "For hours: a whole number from 1 to 168."),
        ("operator: no such operator", "No such operator."),
        ("reason: write at least 10 characters", "Reason: write at least 10 characters."),
        ("row 3: give the field a name", "Row 3: give the field a name."),
        (
            "You asked for this; another vault admin must decide it.",
            "You asked for this; another vault admin must decide it.",
        ),
    ],
)
def test_it_says_it_the_pages_way(api: str, page: str) -> None:
    assert plain(api) == page


def test_it_speaks_days_not_seconds() -> None:
    assert "86400" not in plain("dates: within 86400 seconds")
    assert plain("dates: within 86400 seconds") == "Dates: within 1 day."
