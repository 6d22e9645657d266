from __future__ import annotations

import time

import time_machine

from tests.conftest import Api, CallLog, audit_records, error_of, make_api

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0", "tax_file_number": "111 111 111"}
NOT_FOUND = {"code": "token_not_found", "message": "No such token, or it has expired."}


def test_it_returns_all_fields_and_the_ttl(full_api: Api) -> None:
    ttl = int(time.time()) + 600
    token = full_api.tokenize({**SEED, "TTL": ttl})
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 200
    assert response.json() == {"tokenId": token, "data": SEED, "TTL": ttl}
    assert response["Cache-Control"] == "no-store"


def test_it_returns_only_the_fields_asked_for(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "fields": ["medicare_card"]})
    assert response.json()["data"] == {"medicare_card": "1234 56789 0"}


def test_it_rejects_a_field_the_token_does_not_have(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "fields": ["passport"]})
    assert response.status_code == 400
    assert error_of(response)["message"] == "fields: this token has no field 'passport'"


def test_it_rejects_fields_that_are_not_a_list(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token, "fields": "passport"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "fields: must be a non-empty list of field names"


def test_it_rejects_a_missing_token_id(full_api: Api) -> None:
    response = full_api.post("/api/v1/detokenize", {"fields": ["a"]})
    assert response.status_code == 400
    assert error_of(response)["message"] == "tokenId: is required and must be a string"


def test_it_limits_a_client_to_its_allowed_fields(db: object, full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    limited = make_api(["detokenize"], "limited", fields=["drivers_license"])
    assert limited.post("/api/v1/detokenize", {"tokenId": token}).json()["data"] == {
        "drivers_license": "987654321"
    }


def test_it_refuses_a_field_outside_the_allowed_ones(db: object, full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    limited = make_api(["detokenize"], "limited", fields=["drivers_license"])
    response = limited.post("/api/v1/detokenize", {"tokenId": token, "fields": ["medicare_card"]})
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "forbidden",
        "message": "This caller may not detokenize these fields.",
    }


def test_unknown_expired_and_malformed_tokens_look_the_same(full_api: Api) -> None:
    expired = full_api.tokenize({**SEED, "TTL": int(time.time()) + 5})
    unknown = "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"
    with time_machine.travel(time.time() + 10):
        answers = [
            full_api.post("/api/v1/detokenize", {"tokenId": token})
            for token in (expired, unknown, "zzzz", "TKNccf079c1-91f0-4f3c-93a8-4851bef7fdbb")
        ]
    assert {r.status_code for r in answers} == {404}
    assert {r.content for r in answers} == {
        b'{"error": {"code": "token_not_found", "message": "No such token, or it has expired."}}'
    }


def test_an_expired_item_is_refused_without_a_kms_call(full_api: Api, aws_calls: CallLog) -> None:
    token = full_api.tokenize({**SEED, "TTL": int(time.time()) + 5})
    aws_calls.clear()
    with time_machine.travel(time.time() + 10):
        response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 404
    assert [c for c in aws_calls.calls if c[0] == "kms"] == []


def test_it_calls_no_kms_once_the_key_version_is_loaded(full_api: Api, aws_calls: CallLog) -> None:
    token = full_api.tokenize(SEED)
    aws_calls.clear()
    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert [c for c in aws_calls.calls if c[0] == "kms"] == []


def test_in_kms_per_item_mode_it_makes_exactly_one_kms_decrypt(
    full_api: Api, aws_calls: CallLog, settings: object
) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"  # type: ignore[attr-defined]
    token = full_api.tokenize(SEED)
    aws_calls.clear()
    full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert [c for c in aws_calls.calls if c[0] == "kms"] == [("kms", "Decrypt")]


def test_it_audits_unknown_and_malformed_lookups_without_echoing_the_input(full_api: Api) -> None:
    full_api.post("/api/v1/detokenize", {"tokenId": "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"})
    full_api.post("/api/v1/detokenize", {"tokenId": "4111111111111111"})
    unknown, malformed = [r for r in audit_records() if r["action"] == "detokenize"]
    assert (unknown["outcome"], unknown["detail"]) == ("not_found", "unknown token")
    assert unknown["token_id"] == "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"
    assert (malformed["outcome"], malformed["token_id"]) == ("not_found", "(malformed)")
    assert "4111111111111111" not in repr(audit_records())


def test_it_audits_a_reveal_with_the_fields_revealed(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    full_api.post("/api/v1/detokenize", {"tokenId": token, "fields": ["drivers_license"]})
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["token_id"]) == ("detokenize", "success", token)
    assert record["fields"] == ["drivers_license"]
