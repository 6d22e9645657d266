"""The cached key hierarchy: items' content keys are wrapped by a versioned key
from the key store, so KMS is called when a process loads a version, not per
item; items of either kind, and of either region, read everywhere."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions
import pytest
import time_machine
from django.conf import settings
from dynamodb_encryption_sdk.internal.formatting.material_description import (
    deserialize as deserialize_material_description,
)
from dynamodb_encryption_sdk.internal.formatting.material_description import (
    serialize as serialize_material_description,
)

from tests.conftest import MARKER, Api, CallLog, audit_records, error_of, put_raw, raw_item
from tests.multiregion import SIN, SYD, replicate_items, replicate_key_material, use_region
from tests.test_dependency_failures import fail
from tokens import aws, crypto, keystore, vault
from tokens.actors import Actor, RequestContext
from tokens.bootstrap import bootstrap

SERVICE = Actor(
    kind="lambda",
    id="lambda:test",
    name="test",
    permissions=frozenset({"tokenize", "detokenize", "ttl"}),
)


def ctx() -> RequestContext:
    return RequestContext(channel="lambda")


def kms_calls(log: CallLog) -> list[tuple[str, str]]:
    return [call for call in log.calls if call[0] == "kms"]


def key_store_items() -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=settings.VAULT_KEYS_TABLE)["Items"])


def test_fifty_tokenizes_detokenizes_and_expiry_changes_call_kms_once(aws_calls: CallLog) -> None:
    crypto.reset()  # a fresh process
    for n in range(50):
        token = vault.tokenize(SERVICE, ctx(), {"pan": f"4111-{n}"}).token_id
        assert vault.detokenize(SERVICE, ctx(), token).data == {"pan": f"4111-{n}"}
        vault.change_expiry(SERVICE, ctx(), token, int(time.time()) + 3600)
    # Loading version 0 of this region's material; nothing per item.
    assert kms_calls(aws_calls) == [("kms", "Decrypt")]


def test_each_item_still_gets_its_own_content_key(full_api: Api) -> None:
    first, second = full_api.tokenize({"pan": "4111"}), full_api.tokenize({"pan": "4111"})
    one, two = raw_item(first), raw_item(second)
    assert one["pan"] != two["pan"]
    assert one["*amzn-ddb-map-desc*"] != two["*amzn-ddb-map-desc*"]  # a different wrapped key


def test_an_item_records_this_region_s_material_and_version(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    assert crypto.sealed_with(raw_item(token)) == "vault-SYD#0"


def test_in_kms_per_item_mode_each_item_calls_kms(aws_calls: CallLog, settings: Any) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    tokens = [vault.tokenize(SERVICE, ctx(), {"pan": "4111"}).token_id for _ in range(3)]
    for token in tokens:
        vault.detokenize(SERVICE, ctx(), token)
    assert sorted(kms_calls(aws_calls)) == [("kms", "Decrypt")] * 3 + [("kms", "GenerateDataKey")] * 3
    assert {crypto.sealed_with(raw_item(token)) for token in tokens} == {crypto.PER_ITEM_KMS}


def test_items_sealed_per_item_by_kms_still_read_in_cached_mode(settings: Any) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    legacy = vault.tokenize(SERVICE, ctx(), {"pan": MARKER}).token_id
    settings.VAULT_KEY_MODE = "cached"
    crypto.reset()
    assert vault.detokenize(SERVICE, ctx(), legacy).data == {"pan": MARKER}


def test_items_sealed_under_the_key_store_read_in_kms_per_item_mode(settings: Any) -> None:
    token = vault.tokenize(SERVICE, ctx(), {"pan": MARKER}).token_id
    settings.VAULT_KEY_MODE = "kms-per-item"
    crypto.reset()
    assert vault.detokenize(SERVICE, ctx(), token).data == {"pan": MARKER}


def test_a_loaded_version_is_read_again_after_the_cache_period(aws_calls: CallLog, settings: Any) -> None:
    settings.VAULT_KEY_CACHE_SECONDS = 60
    crypto.reset()
    vault.tokenize(SERVICE, ctx(), {"pan": "4111"})
    with time_machine.travel(time.time() + 30):
        vault.tokenize(SERVICE, ctx(), {"pan": "4111"})
    assert len(kms_calls(aws_calls)) == 1
    with time_machine.travel(time.time() + 62):
        vault.tokenize(SERVICE, ctx(), {"pan": "4111"})
    assert kms_calls(aws_calls) == [("kms", "Decrypt")] * 2


def test_without_a_version_the_request_path_answers_503_and_creates_none(full_api: Api) -> None:
    for item in key_store_items():
        aws.client("dynamodb").delete_item(
            TableName=settings.VAULT_KEYS_TABLE, Key={"N": item["N"], "V": item["V"]}
        )
    crypto.reset()
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert key_store_items() == []


def test_kms_down_while_loading_a_version_to_seal_is_503(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    crypto.reset()
    fail(monkeypatch, "kms", "decrypt", exc=botocore.exceptions.ReadTimeoutError(endpoint_url="https://kms"))
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {"code": "unavailable", "message": "KMS is unavailable; retry later."}
    assert response["Retry-After"] == "5"


def test_a_kms_timeout_while_sealing_per_item_is_503_not_500(
    full_api: Api, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    dropped = botocore.exceptions.ReadTimeoutError(endpoint_url="https://kms")
    fail(monkeypatch, "kms", "generate_data_key", exc=dropped)
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response) == {"code": "unavailable", "message": "KMS is unavailable; retry later."}


def test_the_key_store_unreachable_while_loading_a_version_is_503(
    full_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = full_api.tokenize({"pan": "4111"})
    crypto.reset()
    table = aws.table_resource(settings.VAULT_KEYS_TABLE)

    def unreachable(**kwargs: Any) -> Any:
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://dynamodb")

    monkeypatch.setattr(table, "get_item", unreachable)
    monkeypatch.setattr(table, "query", unreachable)
    crypto.reset()  # the store is built again around the patched table
    responses = [
        full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}}),
        full_api.post("/api/v1/detokenize", {"tokenId": token}),
    ]
    assert [r.status_code for r in responses] == [503, 503]
    assert {error_of(r)["message"] for r in responses} == {"DynamoDB is unavailable; retry later."}


def test_an_item_naming_another_material_is_refused_like_an_unknown_token(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    item = raw_item(token)
    description = deserialize_material_description(item["*amzn-ddb-map-desc*"])
    description[keystore.META_ID] = "attacker-made#0"
    item["*amzn-ddb-map-desc*"] = serialize_material_description(description)
    put_raw(item)
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 404
    assert error_of(response)["code"] == "token_not_found"
    assert audit_records()[-1]["outcome"] == "integrity_failure"


def test_the_key_store_holds_only_ciphertext_of_its_keys(full_api: Api) -> None:
    full_api.tokenize({"pan": MARKER})
    wrapping, signing = keystore.store()._load_materials("vault-SYD", 0)
    (item,) = [item for item in key_store_items() if item["N"]["S"] == "vault-SYD"]
    assert item["V"] == {"N": "0"}
    stored = b"".join(value.get("B", b"") for value in item.values())
    assert wrapping.key not in stored and signing.key not in stored
    assert MARKER not in repr(item)


# --- two regions ---------------------------------------------------------------


@pytest.fixture
def regions(settings: Any) -> dict[str, str]:
    """Sydney and Singapore, each bootstrapped (its own material's version 0)."""
    meta = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]
    keys = {SYD: meta["Arn"], SIN: replicate_key_material(meta["KeyId"], SYD, SIN)}
    use_region(settings, SIN, keys[SIN])
    bootstrap()
    use_region(settings, SYD, keys[SYD])
    return keys


def replicate(source: str, target: str) -> None:
    """What the global tables do: items and key versions reach the other region."""
    for table in (settings.VAULT_TABLE, settings.VAULT_KEYS_TABLE):
        replicate_items(table, source, target)


def test_each_region_seals_under_its_own_material_and_reads_the_other_s(
    regions: dict[str, str], settings: Any
) -> None:
    from_sydney = vault.tokenize(SERVICE, ctx(), {"pan": MARKER}).token_id
    use_region(settings, SIN, regions[SIN])
    from_singapore = vault.tokenize(SERVICE, ctx(), {"pan": "5500"}).token_id
    assert crypto.sealed_with(raw_item(from_singapore)) == "vault-SIN#0"
    replicate(SYD, SIN)
    assert vault.detokenize(SERVICE, ctx(), from_sydney).data == {"pan": MARKER}
    replicate(SIN, SYD)
    use_region(settings, SYD, regions[SYD])
    assert crypto.sealed_with(raw_item(from_sydney)) == "vault-SYD#0"
    assert vault.detokenize(SERVICE, ctx(), from_singapore).data == {"pan": "5500"}


def test_bootstrap_creates_versions_of_its_own_region_s_material_only(regions: dict[str, str]) -> None:
    # Besides the shared fingerprint key (tokens/fingerprints.py), which bootstrap makes only when absent.
    names = {item["N"]["S"] for item in key_store_items()}
    assert names == {"vault-SYD", "fingerprint"}
    sin = {item["N"]["S"] for item in aws.client("dynamodb", SIN).scan(TableName="vault-keys")["Items"]}
    assert sin - {"fingerprint"} == {"vault-SIN"}
