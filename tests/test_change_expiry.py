from __future__ import annotations

import time
from typing import Any

import time_machine
from django.conf import settings

from tests.conftest import Api, CallLog, audit_records, error_of, raw_item


def test_it_extends_a_token(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111", "TTL": int(time.time()) + 60})
    later = int(time.time()) + 7200
    response = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": later})
    assert response.status_code == 200
    assert response.json()["TTL"] == later
    assert raw_item(token)["TTL"] == {"N": str(later)}
    with time_machine.travel(time.time() + 3600):
        assert full_api.post("/api/v1/detokenize", {"tokenId": token}).json() == {
            "tokenId": token, "data": {"pan": "4111"}, "TTL": later,
        }  # fmt: skip


def test_it_shortens_a_token(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    response = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 5})
    assert response.status_code == 200
    with time_machine.travel(time.time() + 10):
        assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 404


def test_it_re_encrypts_with_a_new_content_key_and_no_kms_call(full_api: Api, aws_calls: CallLog) -> None:
    token = full_api.tokenize({"pan": "4111"})
    before = raw_item(token)
    aws_calls.clear()
    full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 7200})
    assert [c for c in aws_calls.calls if c[0] == "kms"] == []
    # A new content key, wrapped anew: the material description holds the wrapped key.
    assert raw_item(token)["*amzn-ddb-map-desc*"] != before["*amzn-ddb-map-desc*"]


def test_in_kms_per_item_mode_it_re_encrypts_with_one_decrypt_and_one_new_data_key(
    full_api: Api, aws_calls: CallLog, settings: Any
) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    token = full_api.tokenize({"pan": "4111"})
    aws_calls.clear()
    full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 7200})
    assert sorted(c for c in aws_calls.calls if c[0] == "kms") == [
        ("kms", "Decrypt"),
        ("kms", "GenerateDataKey"),
    ]


def test_it_refuses_to_pass_maximum_retention_from_creation(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    with time_machine.travel(time.time() + 86400):
        response = full_api.patch(
            f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + settings.VAULT_MAX_RETENTION}
        )
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        f"TTL: a token lives at most {settings.VAULT_MAX_RETENTION} seconds from its creation"
    )


def test_it_rejects_a_ttl_in_the_past(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    response = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) - 1})
    assert response.status_code == 400
    assert error_of(response)["message"] == "TTL: TTL is in the past"


def test_it_rejects_a_body_without_ttl(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    response = full_api.patch(f"/api/v1/tokens/{token}", {"ttl": 5})
    assert response.status_code == 400
    assert error_of(response)["message"] == "body.ttl: unknown key; expected only TTL"


def test_it_refuses_to_extend_a_tampered_item(full_api: Api) -> None:
    from tests.conftest import put_raw

    token = full_api.tokenize({"pan": "4111"})
    item = raw_item(token)
    item["TTL"] = {"N": str(int(item["TTL"]["N"]) + 50)}
    put_raw(item)
    response = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 7200})
    assert response.status_code == 404
    assert raw_item(token)["TTL"] == item["TTL"]
    assert audit_records()[-1]["outcome"] == "integrity_failure"


def test_it_audits_the_old_and_new_expiry(full_api: Api) -> None:
    old = int(time.time()) + 60
    token = full_api.tokenize({"pan": "4111", "TTL": old})
    new = old + 3600
    full_api.patch(f"/api/v1/tokens/{token}", {"TTL": new})
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["detail"]) == (
        "change_expiry",
        "success",
        f"TTL {old} -> {new}",
    )
