"""Idempotency-Key on POST /api/v1/tokens and /api/v1/tokens/batch (IETF draft semantics)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import MARKER, Api, error_of, make_api
from tests.test_dependency_failures import fail
from tokens import aws, idempotency

BODY = {"data": {"drivers_license": "987654321"}}


def post(api: Api, path: str, body: Any, key: str) -> Any:
    return api.client.post(
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.key}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def items_in_table() -> int:
    from tests.test_dependency_failures import data_items

    return data_items()  # tokens only, not /readyz's canary


def idempotency_records() -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=settings.VAULT_IDEMPOTENCY_TABLE)["Items"])


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_again(writer_api: Api) -> None:
    first = post(writer_api, "/api/v1/tokens", BODY, "order-1234")
    again = post(writer_api, "/api/v1/tokens", BODY, "order-1234")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert items_in_table() == 1


def test_a_batch_retry_makes_no_new_tokens(writer_api: Api) -> None:
    body = {"records": [BODY, {"data": {"pan": 1}}, BODY]}
    first = post(writer_api, "/api/v1/tokens/batch", body, "batch-7")
    again = post(writer_api, "/api/v1/tokens/batch", body, "batch-7")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert items_in_table() == 2


def test_the_same_key_with_another_body_is_refused(writer_api: Api) -> None:
    post(writer_api, "/api/v1/tokens", BODY, "k1")
    other = post(writer_api, "/api/v1/tokens", {"data": {"drivers_license": "111"}}, "k1")
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert items_in_table() == 1


def test_the_same_json_spaced_or_ordered_otherwise_is_the_same_body(writer_api: Api) -> None:
    body = {"data": {"drivers_license": "987654321", "tax_file_number": "111 111 111"}}
    first = post(writer_api, "/api/v1/tokens", body, "k2")
    again = writer_api.client.post(
        "/api/v1/tokens",
        '{ "data" : {"tax_file_number":"111 111 111",\n  "drivers_license": "987654321"} }',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writer_api.key}",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # A value that differs only in its spaces is another body.
    other = post(
        writer_api, "/api/v1/tokens", {"data": {**body["data"], "tax_file_number": "111111111"}}, "k2"
    )
    assert other.status_code == 422
    assert items_in_table() == 1


def test_the_same_key_while_the_first_request_runs_is_refused() -> None:
    seen: list[Any] = []

    def first() -> tuple[int, dict[str, Any]]:
        with pytest.raises(idempotency.KeyInUse) as refused:
            idempotency.once("client:1", "k", b"body", lambda: (201, {}))
        seen.append(refused.value)
        return 201, {"tokenId": "TKN-SYD-x"}

    assert idempotency.once("client:1", "k", b"body", first).body == {"tokenId": "TKN-SYD-x"}
    assert (seen[0].status, seen[0].code) == (409, "idempotency_key_in_use")


def test_keys_are_per_client(db: Any) -> None:
    one, two = make_api(["tokenize"], "one"), make_api(["tokenize"], "two")
    a = post(one, "/api/v1/tokens", BODY, "shared")
    b = post(two, "/api/v1/tokens", BODY, "shared")
    assert a.json()["tokenId"] != b.json()["tokenId"]
    assert "Idempotent-Replayed" not in b
    assert items_in_table() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_refused(writer_api: Api, key: str) -> None:
    response = post(writer_api, "/api/v1/tokens", BODY, key)
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "field": "Idempotency-Key",
        "problem": "1 to 255 printable ASCII characters, no space at either end",
    }
    assert items_in_table() == 0


def test_a_refused_request_is_replayed_as_refused(writer_api: Api) -> None:
    bad = {"data": {"drivers_license": 5}}
    first = post(writer_api, "/api/v1/tokens", bad, "k")
    again = post(writer_api, "/api/v1/tokens", bad, "k")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_an_outage_is_not_remembered_so_the_retry_runs(
    writer_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        fail(m, "dynamodb", "transact_write_items")
        assert post(writer_api, "/api/v1/tokens", BODY, "k").status_code == 503
    retried = post(writer_api, "/api/v1/tokens", BODY, "k")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert items_in_table() == 1


def test_only_keyed_hashes_and_the_answer_are_stored_with_a_24_hour_ttl(writer_api: Api) -> None:
    response = post(writer_api, "/api/v1/tokens", {"data": {"pan": MARKER}}, "my-key-123")
    [record] = idempotency_records()
    assert MARKER not in repr(record) and "my-key-123" not in repr(record)
    assert json.loads(record["answer"]["S"]) == response.json()
    assert abs(int(record["TTL"]["N"]) - (time.time() + 24 * 3600)) < 60


def test_a_replay_is_not_another_detokenize_or_tokenize_in_the_audit_log(writer_api: Api) -> None:
    from tests.conftest import audit_where

    post(writer_api, "/api/v1/tokens", BODY, "k")
    post(writer_api, "/api/v1/tokens", BODY, "k")
    assert len(audit_where(action="tokenize", outcome="success")) == 1


def test_a_body_with_a_lone_surrogate_is_answered_not_crashed(writer_api: Api) -> None:
    response = writer_api.client.post(
        "/api/v1/tokens",
        '{"data": {"note": "\\ud800"}}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writer_api.key}",
        HTTP_IDEMPOTENCY_KEY="k-surrogate",
    )
    assert response.status_code == 400  # the body's hash is made before validation refuses it
    assert error_of(response)["details"] == {
        "field": "data.note",
        "problem": "values must be valid Unicode text",
    }


def test_a_record_that_holds_the_hash_of_the_bytes_still_replays_their_retry(db: Any) -> None:
    """Records written before the API hashed canonical JSON hold the bytes' hash."""
    made = [0]

    def produce() -> tuple[int, dict[str, Any]]:
        made[0] += 1
        return 201, {"tokenId": "TKN-SYD-00000000-0000-4000-8000-000000000001"}

    idempotency.once("client:7", "k-old", b'{"data": {"a": "b"}}', produce)  # as the old API did
    again = idempotency.once("client:7", "k-old", b'{"data":{"a":"b"}}', produce, raw=b'{"data": {"a": "b"}}')
    assert again.replayed and again.status == 201 and made == [1]
    with pytest.raises(idempotency.KeyReused):
        idempotency.once("client:7", "k-old", b'{"data":{"a":"c"}}', produce, raw=b'{"data": {"a": "c"}}')
