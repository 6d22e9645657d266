"""The marker proof for fingerprints and aliases: neither reveals the value."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from django.conf import settings

from tests.conftest import CARD_MARKER, Api, audit_records, raw_item
from tokens import aws

DIGITS = CARD_MARKER.replace(" ", "")


def test_the_index_holds_neither_the_value_nor_a_plain_hash_of_it(
    full_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = full_api.post(
        "/api/v1/tokens", {"data": {"card_number": CARD_MARKER}, "aliases": {"card_number": "card-last4"}}
    ).json()
    rows = aws.client("dynamodb").scan(TableName=settings.VAULT_INDEX_TABLE)["Items"]
    text = repr(rows) + repr(raw_item(created["tokenId"])) + repr(audit_records()) + caplog.text
    assert rows
    for secret in (CARD_MARKER, DIGITS, DIGITS[:12], hashlib.sha256(DIGITS.encode()).hexdigest()[:16]):
        assert secret not in text


def test_an_alias_keeps_only_the_last_four_digits(full_api: Api) -> None:
    # Over many aliases, each hidden position matches the value's digit about one time in ten.
    matches = positions = 0
    for _ in range(60):
        alias = full_api.post(
            "/api/v1/tokens", {"data": {"card_number": CARD_MARKER}, "aliases": {"card_number": "card-last4"}}
        ).json()["aliases"]["card_number"]
        hidden = re.sub(r"\D", "", alias)[:-4]
        matches += sum(a == b for a, b in zip(hidden, DIGITS[:-4], strict=True))
        positions += len(hidden)
    assert matches / positions < 0.2
