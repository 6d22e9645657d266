"""Honeytokens: decoy tokens that look like any token, answer like any token,
and raise an alert naming the caller the moment anyone uses one."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import Api, audit_records, raw_item
from tokens import vault
from tokens.actors import Actor, RequestContext

pytestmark = pytest.mark.django_db

TOKEN_ID = re.compile(r"^TKN-SYD-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))
# A real card (Luhn-valid) and CVC, the shape of the decoys' default fields.
REAL = {"card_number": "4973172240660003", "cvc": "123"}


def plant(count: int = 1, *fields: str) -> list[str]:
    out = io.StringIO()
    args = ["--count", str(count)] + (["--fields", ",".join(fields)] if fields else [])
    call_command("plant_honeytokens", *args, stdout=out)
    return out.getvalue().splitlines()[-count:]


def real_token() -> str:
    return vault.tokenize(SETUP, RequestContext(channel="cli"), REAL).token_id


def honeytoken_records() -> list[dict[str, Any]]:
    return [r for r in audit_records() if r["outcome"] == "honeytoken"]


def test_planting_prints_the_new_ids_one_per_line_last() -> None:
    out = io.StringIO()
    call_command("plant_honeytokens", "--count", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and not TOKEN_ID.match(lines[0])
    assert all(TOKEN_ID.match(line) for line in lines[1:])
    assert len(set(lines[1:])) == 3
    for token_id in lines[1:]:
        assert raw_item(token_id)["tokenId"] == {"S": token_id}


def test_a_decoy_answers_a_detokenize_like_a_real_token(full_api: Api) -> None:
    [decoy] = plant()
    real = real_token()
    for token in (real, decoy):
        response = full_api.post("/api/v1/detokenize", {"tokenId": token})
        assert response.status_code == 200
        assert sorted(response.json()) == ["TTL", "data", "tokenId"]
        assert sorted(response.json()["data"]) == ["card_number", "cvc"]
    [record] = honeytoken_records()
    assert record["token_id"] == decoy and record["action"] == "detokenize"
