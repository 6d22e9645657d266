"""Search by value: keyed fingerprints find live tokens without decrypting anything."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import time_machine

from tests.conftest import CARD_MARKER, Api, audit_where, error_of, make_api


@pytest.fixture
def searcher(db: Any) -> Api:
    return make_api(["search"], "searcher")


def search(api: Api, field: str, value: str) -> Any:
    return api.post("/api/v1/tokens/search", {"field": field, "value": value})


def test_it_finds_every_live_token_holding_the_value_newest_first(full_api: Api, searcher: Api) -> None:
    first = full_api.tokenize({"ssn": "078-05-1120", "note": "a"})
    full_api.tokenize({"ssn": "219-09-9999"})
    with time_machine.travel(time.time() + 5, tick=False):
        second = full_api.tokenize({"ssn": "078051120"})  # same value, other spelling
        response = search(searcher, "ssn", "078-05-1120")
    assert response.status_code == 200
    assert [t["tokenId"] for t in response.json()["tokens"]] == [second, first]
    assert all(isinstance(t["TTL"], int) for t in response.json()["tokens"])


def test_it_compares_normalized_values(full_api: Api, searcher: Api) -> None:
    token = full_api.tokenize({"email": "Ada@Example.com"})
    assert [t["tokenId"] for t in search(searcher, "email", "ada@EXAMPLE.com").json()["tokens"]] == [token]


def test_the_same_value_in_another_field_is_not_a_match(full_api: Api, searcher: Api) -> None:
    full_api.tokenize({"passport": "PA1234567"})
    assert search(searcher, "drivers_license", "PA1234567").json() == {"tokens": []}


def test_it_does_not_find_a_deleted_token(full_api: Api, searcher: Api) -> None:
    token = full_api.tokenize({"card_number": CARD_MARKER})
    assert full_api.delete(f"/api/v1/tokens/{token}").status_code == 204
    assert search(searcher, "card_number", CARD_MARKER).json() == {"tokens": []}


def test_it_does_not_find_an_expired_token(full_api: Api, searcher: Api) -> None:
    now = int(time.time())
    full_api.tokenize({"passport": "PB7654321", "TTL": now + 60})
    with time_machine.travel(now + 120, tick=False):
        assert search(searcher, "passport", "PB7654321").json() == {"tokens": []}


def test_a_changed_expiry_is_what_search_answers(full_api: Api, searcher: Api) -> None:
    token = full_api.tokenize({"passport": "PC7654321"})
    now = int(time.time())
    full_api.patch(f"/api/v1/tokens/{token}", {"TTL": now + 7200})
    assert search(searcher, "passport", "PC7654321").json()["tokens"] == [
        {"tokenId": token, "TTL": now + 7200}
    ]


def test_it_needs_the_search_scope(full_api: Api) -> None:
    response = search(full_api, "ssn", "078-05-1120")
    assert response.status_code == 403


def test_it_refuses_a_value_breaking_its_type_without_echoing_it(searcher: Api) -> None:
    response = search(searcher, "card_number", "4973 1722 4066 0004")
    assert response.status_code == 400
    assert error_of(response)["details"]["field"] == "value"
    assert "4066" not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "x"}, "field"),
        ({"field": "ssn"}, "value"),
        ({"field": "bad name", "value": "x"}, "field"),
        ({"field": "ssn", "value": 7}, "value"),
        ({"field": "ssn", "value": "078-05-1120", "extra": 1}, "body.extra"),
    ],
)
def test_it_refuses_a_malformed_search(searcher: Api, body: dict[str, Any], field: str) -> None:
    response = searcher.post("/api/v1/tokens/search", body)
    assert response.status_code == 400
    assert error_of(response)["details"]["field"] == field


def test_a_search_is_audited_with_a_fingerprint_prefix_never_the_value(
    full_api: Api, searcher: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    full_api.tokenize({"card_number": CARD_MARKER})
    search(searcher, "card_number", CARD_MARKER)
    [record] = audit_where(action="search")
    assert record["outcome"] == "success"
    assert record["fields"] == ["card_number"]
    assert record["detail"].startswith("fingerprint f0:") and "found 1" in record["detail"]
    digits = CARD_MARKER.replace(" ", "")
    for text in (str(record), caplog.text):
        assert CARD_MARKER not in text and digits not in text


def test_search_has_its_own_tight_rate_limit(settings: Any, searcher: Api) -> None:
    settings.VAULT_SEARCH_RATE_LIMIT = 3
    statuses = [search(searcher, "ssn", "078-05-1120").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_a_fingerprint_is_the_hmac_the_sdk_computes_under_the_key_stores_key(full_api: Api) -> None:
    """Fingerprints are taken with hmac.digest over the key's bytes, not the SDK's signer:
    the same MACs, or every token fingerprinted before would stop being found."""
    from tokens import fieldtypes, fingerprints

    version = fingerprints.newest_version()
    key = fingerprints.signing_key(version)
    for field, value in (("pan", "4111 1111 1111 1111"), ("note", "ünïcode and spaces "), ("cvc", "123")):
        message = field + chr(0) + fieldtypes.normalize(field, value)
        by_sdk = bytes(key.sign(algorithm="HmacSHA256", data=message.encode("utf-8"))).hex()[:40]
        assert fingerprints.of_field(field, value, version) == f"f{version}:{by_sdk}"
    record = {"pan": "4111111111111111", "cvc": "123"}
    message = chr(1).join(name + chr(0) + fieldtypes.normalize(name, record[name]) for name in sorted(record))
    by_sdk = bytes(key.sign(algorithm="HmacSHA256", data=message.encode("utf-8"))).hex()[:40]
    assert fingerprints.of_record(record, version) == f"r{version}:{by_sdk}"
