"""Items changed behind the vault's back are refused, logged and audited."""

from __future__ import annotations

import logging
import time

import pytest

from tests.conftest import Api, audit_records, put_raw, raw_item

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0"}


def assert_refused_as_integrity_failure(api: Api, token: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "token_not_found",
        "message": "No such token, or it has expired.",
    }
    assert "987654321" not in response.content.decode()
    assert any("integrity failure" in r.getMessage() and token in r.getMessage() for r in caplog.records)
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["token_id"]) == (
        "detokenize",
        "integrity_failure",
        token,
    )


def test_a_flipped_ciphertext_byte_is_refused(full_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    token = full_api.tokenize(SEED)
    item = raw_item(token)
    blob = bytearray(item["drivers_license"]["B"])
    blob[len(blob) // 2] ^= 0x01
    item["drivers_license"] = {"B": bytes(blob)}
    put_raw(item)
    assert_refused_as_integrity_failure(full_api, token, caplog)


def test_swapped_token_ids_are_refused(full_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    first, second = full_api.tokenize(SEED), full_api.tokenize({"drivers_license": "555"})
    a, b = raw_item(first), raw_item(second)
    a["tokenId"], b["tokenId"] = b["tokenId"], a["tokenId"]
    put_raw(a)
    put_raw(b)
    assert_refused_as_integrity_failure(full_api, first, caplog)
    assert_refused_as_integrity_failure(full_api, second, caplog)


def test_a_ttl_extended_in_the_table_is_refused(full_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    token = full_api.tokenize({**SEED, "TTL": int(time.time()) + 60})
    item = raw_item(token)
    item["TTL"] = {"N": str(int(time.time()) + 86400)}
    put_raw(item)
    assert_refused_as_integrity_failure(full_api, token, caplog)


def test_a_field_copied_from_another_item_is_refused(full_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    first, second = full_api.tokenize(SEED), full_api.tokenize({**SEED, "drivers_license": "555"})
    victim = raw_item(first)
    victim["drivers_license"] = raw_item(second)["drivers_license"]
    put_raw(victim)
    assert_refused_as_integrity_failure(full_api, first, caplog)


def test_a_removed_signature_is_refused(full_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    token = full_api.tokenize(SEED)
    item = raw_item(token)
    del item["*amzn-ddb-map-sig*"]
    put_raw(item)
    assert_refused_as_integrity_failure(full_api, token, caplog)


def test_an_untampered_neighbour_still_reads(full_api: Api) -> None:
    tampered, fine = full_api.tokenize(SEED), full_api.tokenize(SEED)
    item = raw_item(tampered)
    item["TTL"] = {"N": str(int(item["TTL"]["N"]) + 1)}
    put_raw(item)
    assert full_api.post("/api/v1/detokenize", {"tokenId": fine}).json()["data"] == SEED


def test_a_tampered_item_is_an_integrity_failure_whatever_fields_are_asked(
    full_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    token = full_api.tokenize(SEED)
    item = raw_item(token)
    item["TTL"] = {"N": str(int(item["TTL"]["N"]) + 60)}
    put_raw(item)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "fields": ["no_such_field"]})
    assert response.status_code == 404
    assert audit_records()[-1]["outcome"] == "integrity_failure"
