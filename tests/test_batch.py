"""POST /api/v1/tokens/batch and /api/v1/detokenize/batch: one result per entry, in order."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from tests.conftest import MARKER, Api, CallLog, audit_records, error_of, make_api, put_raw, raw_item
from tests.test_dependency_failures import fail
from tokens import audit, aws

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0"}
NOT_FOUND = {"error": {"code": "token_not_found", "message": "No such token, or it has expired."}}
UNKNOWN = "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"


def tokenize_batch(api: Api, records: list[Any]) -> list[dict[str, Any]]:
    response = api.post("/api/v1/tokens/batch", {"records": records})
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def detokenize_batch(api: Api, tokens: list[Any]) -> list[dict[str, Any]]:
    response = api.post("/api/v1/detokenize/batch", {"tokens": tokens})
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def items_in_table() -> int:
    from tests.test_dependency_failures import data_items

    return data_items()  # tokens only, not /readyz's canary


def test_it_tokenizes_every_record_in_order(full_api: Api) -> None:
    ttl = int(time.time()) + 3600
    records = [{"data": {"pan": f"4111-{n}", "TTL": ttl}} for n in range(5)]
    results = tokenize_batch(full_api, records)
    assert [set(r) for r in results] == [{"tokenId", "TTL"}] * 5
    assert all(r["TTL"] == ttl for r in results)
    for n, result in enumerate(results):
        single = full_api.post("/api/v1/detokenize", {"tokenId": result["tokenId"]})
        assert single.json()["data"] == {"pan": f"4111-{n}"}


def test_a_bad_record_gets_its_error_and_the_others_are_tokenized(full_api: Api) -> None:
    results = tokenize_batch(
        full_api, [{"data": {"pan": "1"}}, {"data": {"pan": 4111}}, {"nope": 1}, {"data": {"pan": "2"}}]
    )
    assert "tokenId" in results[0] and "tokenId" in results[3]
    assert results[1] == {
        "error": {
            "code": "invalid_request",
            "message": "data.pan: values must be strings",
            "details": {"field": "data.pan", "problem": "values must be strings"},
        }
    }
    assert results[2]["error"]["code"] == "invalid_request"
    assert results[2]["error"]["details"]["field"] == "records[2].nope"
    assert items_in_table() == 2


@pytest.mark.parametrize(
    "path, key", [("/api/v1/tokens/batch", "records"), ("/api/v1/detokenize/batch", "tokens")]
)
@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_holds_1_to_100_entries(full_api: Api, path: str, key: str, count: int) -> None:
    entry = {"data": {"pan": "1"}} if key == "records" else {"tokenId": UNKNOWN}
    response = full_api.post(path, {key: [entry] * count})
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "field": key,
        "problem": "is required: a list of 1 to 100 entries",
    }


@pytest.mark.parametrize(
    "path, key", [("/api/v1/tokens/batch", "records"), ("/api/v1/detokenize/batch", "tokens")]
)
def test_a_batch_needs_its_list_and_nothing_else(full_api: Api, path: str, key: str) -> None:
    assert error_of(full_api.post(path, {}))["details"]["field"] == key
    assert error_of(full_api.post(path, {key: [], "x": 1}))["details"]["field"] == "body.x"


def test_a_caller_without_the_scope_is_refused_whole(reader_api: Api, writer_api: Api) -> None:
    refused = reader_api.post("/api/v1/tokens/batch", {"records": [{"data": {"pan": "1"}}]})
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    refused = writer_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": UNKNOWN}]})
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    assert items_in_table() == 0


def test_it_detokenizes_every_token_in_order(full_api: Api) -> None:
    tokens = [r["tokenId"] for r in tokenize_batch(full_api, [{"data": {"pan": f"p{n}"}} for n in range(3)])]
    results = detokenize_batch(full_api, [{"tokenId": t} for t in reversed(tokens)])
    assert [r["data"] for r in results] == [{"pan": "p2"}, {"pan": "p1"}, {"pan": "p0"}]
    assert [r["tokenId"] for r in results] == list(reversed(tokens))


def test_unknown_expired_malformed_and_tampered_tokens_get_what_a_single_call_gets(full_api: Api) -> None:
    live = full_api.tokenize(SEED)
    expired = full_api.tokenize({**SEED, "TTL": int(time.time()) + 5})
    tampered = full_api.tokenize(SEED)
    item = raw_item(tampered)
    blob = bytearray(item["drivers_license"]["B"])
    blob[len(blob) // 2] ^= 0x01
    put_raw({**item, "drivers_license": {"B": bytes(blob)}})
    asked = [live, UNKNOWN, expired, "TKN-nonsense", tampered, live + "\n"]
    with time_machine.travel(time.time() + 10):
        results = detokenize_batch(full_api, [{"tokenId": t} for t in asked])
        singles = [full_api.post("/api/v1/detokenize", {"tokenId": t}).json() for t in asked[1:]]
    assert results[0]["data"] == SEED
    assert results[1:] == [NOT_FOUND] * 5 == singles


def test_a_limited_client_s_fields_apply_token_by_token(db: Any, full_api: Api) -> None:
    both = full_api.tokenize(SEED)
    other = full_api.tokenize({"medicare_card": "1234 56789 0"})
    limited = make_api(["detokenize"], "limited", fields=["drivers_license"])
    results = detokenize_batch(
        limited,
        [
            {"tokenId": both},
            {"tokenId": both, "fields": ["medicare_card"]},
            {"tokenId": other},
            {"tokenId": both},
        ],
    )
    assert results[0]["data"] == {"drivers_license": "987654321"}
    assert results[1]["error"]["code"] == results[2]["error"]["code"] == "forbidden"
    assert results[3]["data"] == {"drivers_license": "987654321"}


def test_a_bad_entry_gets_its_error_and_the_others_are_detokenized(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    results = detokenize_batch(
        full_api, [{"tokenId": 7}, {"tokenId": token, "fields": ["passport"]}, "x", {"tokenId": token}]
    )
    assert results[0]["error"]["details"] == {
        "field": "tokens[0].tokenId",
        "problem": "is required and must be a string",
    }
    assert results[1]["error"]["details"] == {
        "field": "fields",
        "problem": "this token has no field 'passport'",
    }
    assert results[2]["error"]["code"] == "invalid_request"
    assert results[3]["data"] == SEED


def test_every_token_of_a_batch_is_found_in_the_audit_log_by_its_id(full_api: Api) -> None:
    tokens = [r["tokenId"] for r in tokenize_batch(full_api, [{"data": {"pan": str(n)}} for n in range(4)])]
    detokenize_batch(full_api, [{"tokenId": t} for t in tokens[:2]])
    day = audit_records()[-1]["at"]
    from datetime import datetime, timedelta

    at = datetime.fromisoformat(day)
    for n, token in enumerate(tokens):
        found = audit.search(at - timedelta(minutes=5), at + timedelta(minutes=5), token_id=token)
        assert sorted(r["action"] for r in found) == (["detokenize", "tokenize"] if n < 2 else ["tokenize"])


def test_batch_records_verify_and_tampering_with_their_token_list_is_caught(
    full_api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = [r["tokenId"] for r in tokenize_batch(full_api, [{"data": {"pan": str(n)}} for n in range(3)])]
    call_command("verify_audit")
    assert "audit log intact" in capsys.readouterr().out
    record = next(r for r in audit_records() if r.get("token_ids") == tokens)
    aws.client("dynamodb").update_item(
        TableName=settings.VAULT_AUDIT_TABLE,
        Key={"chain": {"S": record["chain"]}, "seq": {"N": str(record["seq"])}},
        UpdateExpression="SET token_ids = :t",
        ExpressionAttributeValues={":t": {"L": [{"S": t} for t in tokens[:2]]}},
    )
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="contents do not match its MAC"):
        call_command("verify_audit")


def test_a_detokenize_batch_counts_each_token_against_the_rate_limit(full_api: Api, settings: Any) -> None:
    settings.VAULT_API_RATE_LIMIT = 10
    token = full_api.tokenize(SEED)  # 1 of 10
    assert full_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": token}] * 6}).status_code == 200
    refused = full_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": token}] * 6})
    assert (refused.status_code, refused["Retry-After"]) == (429, "60")
    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200


def test_a_tokenize_batch_counts_once_against_the_rate_limit(full_api: Api, settings: Any) -> None:
    settings.VAULT_API_RATE_LIMIT = 3
    settings.VAULT_REQUEST_BUDGET = 120  # the emulator's speed is not under test here
    for _ in range(3):
        results = tokenize_batch(full_api, [{"data": {"pan": str(n)}} for n in range(100)])
        assert all("tokenId" in r for r in results), [r for r in results if "tokenId" not in r][:1]
    assert items_in_table() == 300


def test_a_100_record_batch_makes_batched_dynamodb_calls(full_api: Api, aws_calls: CallLog) -> None:
    tokens = [r["tokenId"] for r in tokenize_batch(full_api, [{"data": {"pan": str(n)}} for n in range(100)])]
    # A transaction holds 100 actions: its audit record and 99 writes, here 24 records of
    # four (the item, its field's fingerprint row, its record's and its token-list row),
    # so 5 transactions.
    assert aws_calls.count("dynamodb", "TransactWriteItems") == 5
    assert aws_calls.count("dynamodb", "PutItem") == 0
    assert aws_calls.count("kms", "GenerateDataKey") == 0  # the cached key hierarchy
    aws_calls.clear()
    results = detokenize_batch(full_api, [{"tokenId": t} for t in tokens])
    assert all("data" in r for r in results)
    assert aws_calls.count("dynamodb", "BatchGetItem") == 1
    assert aws_calls.count("dynamodb", "PutItem") == 1  # one audit record naming the 100 tokens
    assert aws_calls.count("kms", "Decrypt") == 0


def test_unprocessed_keys_are_asked_again(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = [full_api.tokenize({"pan": str(n)}) for n in range(3)]
    client = aws.client("dynamodb")
    real = client.batch_get_item
    calls: list[int] = []

    def partial(**kwargs: Any) -> Any:
        keys = kwargs["RequestItems"][settings.VAULT_TABLE]["Keys"]
        calls.append(len(keys))
        answer = real(
            **{**kwargs, "RequestItems": {settings.VAULT_TABLE: {"Keys": keys[:1], "ConsistentRead": True}}}
        )
        if len(keys) > 1:
            answer["UnprocessedKeys"] = {settings.VAULT_TABLE: {"Keys": keys[1:]}}
        return answer

    monkeypatch.setattr(client, "batch_get_item", partial)
    results = detokenize_batch(full_api, [{"tokenId": t} for t in tokens])
    assert [r["data"] for r in results] == [{"pan": "0"}, {"pan": "1"}, {"pan": "2"}]
    assert calls == [3, 2, 1]


def test_dynamodb_down_gives_every_unwritten_record_unavailable_and_writes_nothing(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(monkeypatch, "dynamodb", "transact_write_items")
    results = tokenize_batch(full_api, [{"data": {"pan": "1"}}, {"data": {"pan": 2}}, {"data": {"pan": "3"}}])
    assert [r["error"]["code"] for r in results] == ["unavailable", "invalid_request", "unavailable"]
    assert items_in_table() == 0


def test_dynamodb_down_on_read_gives_every_token_unavailable(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = full_api.tokenize(SEED)
    fail(monkeypatch, "dynamodb", "batch_get_item")
    results = detokenize_batch(full_api, [{"tokenId": token}, {"tokenId": UNKNOWN}])
    assert [r["error"]["code"] for r in results] == ["unavailable", "unavailable"]


def test_the_audit_log_down_hands_back_no_values(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = full_api.tokenize(SEED)
    fail(monkeypatch, "dynamodb", "put_item", when=lambda kw: kw["TableName"] == settings.VAULT_AUDIT_TABLE)
    results = detokenize_batch(full_api, [{"tokenId": token}])
    assert results[0]["error"]["code"] == "audit_unavailable"
    assert "987654321" not in str(results)


def test_the_marker_leaves_only_in_the_detokenize_batch_answer(
    full_api: Api, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], settings: Any
) -> None:
    from tests.test_no_leaks import assert_marker_absent

    settings.METRICS_SINK = "emf"
    created = full_api.post(
        "/api/v1/tokens/batch",
        {"records": [{"data": {"pan": MARKER}}, {"data": {"pan": MARKER, "TTL": MARKER}}]},
    )
    token = created.json()["results"][0]["tokenId"]
    revealed = full_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": token}]})
    assert revealed.json()["results"][0]["data"] == {"pan": MARKER}
    refused = full_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": MARKER, "fields": [MARKER]}]})
    assert_marker_absent(caplog, capsys, created, refused)
