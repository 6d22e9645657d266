from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import Api, error_of
from tokens import aws

# Taken at collection: margins are an hour so a long suite run stays inside them.
NOW = int(time.time())


def tokens_in_table() -> int:
    # Tokens only: not the canary item vault_bootstrap writes for /readyz.
    scan = aws.client("dynamodb").scan(
        TableName=settings.VAULT_TABLE,
        Select="COUNT",
        FilterExpression="begins_with(tokenId, :t)",
        ExpressionAttributeValues={":t": {"S": "TKN-"}},
    )
    return int(scan["Count"])


@pytest.mark.parametrize(
    "body, field, problem",
    [
        ({}, "data", "is required"),
        ({"data": "4111"}, "data", "must be an object of field names to string values"),
        ({"data": []}, "data", "must be an object of field names to string values"),
        ({"data": {}}, "data", "give at least one field to tokenize"),
        ({"data": {"TTL": NOW + 3600}}, "data", "give at least one field to tokenize"),
        (
            {"data": {"pan": "1"}, "extra": 1},
            "body.extra",
            "unknown key; expected only aliases, data, deduplicate",
        ),
        ({"data": {"pan": 4111}}, "data.pan", "values must be strings"),
        ({"data": {"pan": None}}, "data.pan", "values must be strings"),
        ({"data": {"pan": ["a"]}}, "data.pan", "values must be strings"),
        ({"data": {"pan": ""}}, "data.pan", "values must not be empty"),
        ({"data": {"pan": "x" * 4097}}, "data.pan", "values are at most 4096 bytes of UTF-8"),
        ({"data": {"tokenId": "x"}}, "data.tokenId", "'tokenId' is a reserved name"),
        ({"data": {"ttl": "x"}}, "data.ttl", "'ttl' is a reserved name"),
        ({"data": {"createdAt": "x"}}, "data.createdAt", "'createdAt' is a reserved name"),
        ({"data": {"*amzn-ddb-map-sig*": "x"}}, "data", "field names starting '*amzn-ddb-' are reserved"),
        (
            {"data": {"1pan": "x"}},
            "data",
            "a field name is 1-64 letters, digits or '_', starting with a letter",
        ),
        (
            {"data": {"p an": "x"}},
            "data",
            "a field name is 1-64 letters, digits or '_', starting with a letter",
        ),
        (
            {"data": {"p" * 65: "x"}},
            "data",
            "a field name is 1-64 letters, digits or '_', starting with a letter",
        ),
        (
            {"data": {"cvc\n": "x"}},
            "data",
            "a field name is 1-64 letters, digits or '_', starting with a letter",
        ),
        (
            {"data": {"tokenId\n": "x"}},
            "data",
            "a field name is 1-64 letters, digits or '_', starting with a letter",
        ),
        ({"data": {f"f{i}": "x" for i in range(33)}}, "data", "at most 32 fields per token"),
        (
            {"data": {"pan": "x", "TTL": "soon"}},
            "data.TTL",
            "TTL must be an integer number of seconds since the Unix epoch",
        ),
        (
            {"data": {"pan": "x", "TTL": NOW + 3600.5}},
            "data.TTL",
            "TTL must be an integer number of seconds since the Unix epoch",
        ),
        (
            {"data": {"pan": "x", "TTL": True}},
            "data.TTL",
            "TTL must be an integer number of seconds since the Unix epoch",
        ),
        ({"data": {"pan": "x", "TTL": NOW - 1}}, "data.TTL", "TTL is in the past"),
    ],
)
def test_it_rejects_invalid_input(full_api: Api, body: dict[str, Any], field: str, problem: str) -> None:
    response = full_api.post("/api/v1/tokens", body)
    assert response.status_code == 400
    err = error_of(response)
    assert err["code"] == "invalid_request"
    assert err["details"] == {"field": field, "problem": problem}
    assert err["message"] == f"{field}: {err['details']['problem']}"
    assert tokens_in_table() == 0


def test_it_rejects_a_ttl_beyond_maximum_retention(full_api: Api) -> None:
    response = full_api.post(
        "/api/v1/tokens", {"data": {"pan": "x", "TTL": NOW + settings.VAULT_MAX_RETENTION + 3600}}
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        f"data.TTL: TTL is beyond the maximum retention of {settings.VAULT_MAX_RETENTION} seconds"
    )


def test_it_rejects_a_duplicate_ttl_key(full_api: Api) -> None:
    raw = f'{{"data": {{"pan": "x", "TTL": {NOW + 3600}, "TTL": {NOW + 7200}}}}}'
    response = full_api.client.post(
        "/api/v1/tokens", raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {full_api.key}"
    )
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "invalid_json",
        "message": "The body is not valid: a key appears twice in one JSON object.",
    }


def test_it_accepts_32_fields_of_4096_bytes(full_api: Api) -> None:
    data = {f"f{i}": "é" * 2048 for i in range(32)}
    token = full_api.tokenize(data)
    revealed = full_api.post("/api/v1/detokenize", {"tokenId": token}).json()["data"]
    assert revealed == data


def test_it_accepts_a_ttl_written_as_a_whole_number_with_a_fraction_or_exponent(full_api: Api) -> None:
    # JSON has one number type, and JSON Schema's "integer" (the document's) includes 1.7e9 and 17.0.
    raw = f'{{"data": {{"pan": "x", "TTL": {NOW + 3600}.0}}}}'
    response = full_api.client.post(
        "/api/v1/tokens", raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {full_api.key}"
    )
    assert response.status_code == 201
    assert response.json()["TTL"] == NOW + 3600
