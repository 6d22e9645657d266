from __future__ import annotations

import time

from django.conf import settings

from tests.conftest import Api, CallLog, audit_records, raw_item
from tokens import keystore

SEED = {"drivers_license": "987654321", "medicare_card": "1234 56789 0", "tax_file_number": "111 111 111"}


def test_it_returns_a_token_naming_the_region(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    assert token.startswith("TKN-SYD-") and len(token) == len("TKN-SYD-") + 36


def test_it_names_the_configured_region(full_api: Api, settings: object) -> None:
    settings.VAULT_REGION_CODE = "SIN"  # type: ignore[attr-defined]
    keystore.ensure_first_version()  # what vault_bootstrap does for each region
    assert full_api.tokenize(SEED).startswith("TKN-SIN-")


def test_it_stores_fields_as_ciphertext_with_signed_plaintext_keys(full_api: Api) -> None:
    ttl = int(time.time()) + 600
    token = full_api.tokenize({**SEED, "TTL": ttl})
    item = raw_item(token)
    assert item["tokenId"] == {"S": token}
    assert item["TTL"] == {"N": str(ttl)}
    assert "N" in item["createdAt"]
    assert "B" in item["*amzn-ddb-map-desc*"] and "B" in item["*amzn-ddb-map-sig*"]
    for name, value in SEED.items():
        assert set(item[name]) == {"B"}
        assert value.encode() not in item[name]["B"]


def test_it_applies_the_default_retention(full_api: Api) -> None:
    before = int(time.time())
    token = full_api.tokenize(SEED)
    ttl = int(raw_item(token)["TTL"]["N"])
    assert (
        before + settings.VAULT_DEFAULT_RETENTION
        <= ttl
        <= int(time.time()) + settings.VAULT_DEFAULT_RETENTION
    )


def test_the_same_value_twice_gives_different_tokens_ciphertexts_and_data_keys(full_api: Api) -> None:
    first, second = raw_item(full_api.tokenize(SEED)), raw_item(full_api.tokenize(SEED))
    assert first["tokenId"] != second["tokenId"]
    assert first["drivers_license"] != second["drivers_license"]
    # The material description holds the KMS-wrapped data key.
    assert first["*amzn-ddb-map-desc*"] != second["*amzn-ddb-map-desc*"]


def test_it_calls_kms_only_to_load_the_key_version_and_no_describe_table(
    full_api: Api, aws_calls: CallLog
) -> None:
    full_api.tokenize(SEED)
    assert [c for c in aws_calls.calls if c[0] == "kms"] == [("kms", "Decrypt")]  # version 0, once
    aws_calls.clear()
    full_api.tokenize(SEED)
    assert [c for c in aws_calls.calls if c[0] == "kms"] == []
    assert aws_calls.count("dynamodb", "DescribeTable") == 0
    # The item and its audit record, in one transaction.
    assert aws_calls.count("dynamodb", "TransactWriteItems") == 1
    assert aws_calls.count("dynamodb", "PutItem") == 0


def test_in_kms_per_item_mode_it_makes_one_kms_call_per_item(
    full_api: Api, aws_calls: CallLog, settings: object
) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"  # type: ignore[attr-defined]
    full_api.tokenize(SEED)
    full_api.tokenize(SEED)
    assert [c for c in aws_calls.calls if c[0] == "kms"] == [("kms", "GenerateDataKey")] * 2


def test_it_audits_field_names_but_not_values(full_api: Api) -> None:
    token = full_api.tokenize(SEED)
    record = [r for r in audit_records() if r["action"] == "tokenize"][-1]
    assert record["token_id"] == token
    assert record["outcome"] == "success"
    assert record["fields"] == sorted(SEED)
    assert record["actor"] == "full" and record["actor_type"] == "api_client"
    for value in SEED.values():
        assert value not in repr(record)
