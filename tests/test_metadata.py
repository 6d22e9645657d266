from __future__ import annotations

import time

from tests.conftest import Api, CallLog, audit_records, error_of


def test_it_describes_a_token_without_values_or_kms(full_api: Api, aws_calls: CallLog) -> None:
    ttl = int(time.time()) + 600
    token = full_api.tokenize({"pan": "4111111111111111", "cvc": "123", "TTL": ttl})
    aws_calls.clear()
    response = full_api.get(f"/api/v1/tokens/{token}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "tokenId": token,
        "region": "SYD",
        "createdAt": body["createdAt"],
        "TTL": ttl,
        "fields": ["cvc", "pan"],
    }
    assert abs(body["createdAt"] - time.time()) < 10
    assert "4111" not in response.content.decode()
    assert [c for c in aws_calls.calls if c[0] == "kms"] == []


def test_it_answers_404_for_an_unknown_token(full_api: Api) -> None:
    response = full_api.get("/api/v1/tokens/TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553")
    assert response.status_code == 404
    assert error_of(response)["code"] == "token_not_found"


def test_it_audits_the_lookup(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    full_api.get(f"/api/v1/tokens/{token}")
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["fields"]) == ("metadata", "success", ["pan"])
