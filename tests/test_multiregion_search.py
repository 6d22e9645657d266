"""Search across regions: a token created in Sydney is found by a search in
Singapore once the global tables have replicated, because both regions compute
the same fingerprint (one fingerprint key, replicated with the key store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.multiregion import SIN, SYD, replicate_items, replicate_key_material, use_region
from tokens import aws, dynamo, fingerprints, keystore, vault
from tokens.actors import Actor, RequestContext
from tokens.bootstrap import bootstrap

SERVICE = Actor(
    kind="lambda",
    id="lambda:test",
    name="test",
    permissions=frozenset({"tokenize", "search", "detokenize"}),
)
SSN = "078-05-1120"


class Regions:
    def __init__(self, settings: Any, syd_key: str, sin_key: str) -> None:
        self.settings = settings
        self.keys = {SYD: syd_key, SIN: sin_key}

    def use(self, region: str) -> None:
        use_region(self.settings, region, self.keys[region])
        fingerprints.reset()  # a process in the other region loads its own copy of the key

    def replicate(self, *tables: str) -> None:
        for table in tables:
            replicate_items(table, SYD, SIN)


@pytest.fixture
def regions(settings: Any) -> Iterator[Regions]:
    meta = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]
    both = Regions(settings, meta["Arn"], replicate_key_material(meta["KeyId"], SYD, SIN))
    both.use(SIN)
    # As add_region does on AWS: the key store's replica, holding Sydney's fingerprint
    # key, exists before Singapore is bootstrapped, which then finds that key.
    dynamo.create_table(settings.VAULT_KEYS_TABLE, keystore.KEY_SCHEMA)
    replicate_items(settings.VAULT_KEYS_TABLE, SYD, SIN)
    assert "fingerprint key: found (version 0)" in bootstrap()
    both.use(SYD)
    yield both


def ctx() -> RequestContext:
    return RequestContext(channel="lambda")


def index_keys(region: str, table: str) -> set[str]:
    items = aws.client("dynamodb", region).scan(TableName=table)["Items"]
    return {item["fp"]["S"] for item in items if item["fp"]["S"].startswith("f")}


def test_a_token_created_in_sydney_is_found_by_a_search_in_singapore(regions: Regions, settings: Any) -> None:
    token = vault.tokenize(SERVICE, ctx(), {"ssn": SSN, "note": "x"}).token_id
    assert token.startswith("TKN-SYD-")
    regions.use(SIN)
    assert vault.search(SERVICE, ctx(), "ssn", SSN) == []  # not replicated yet
    regions.replicate(settings.VAULT_TABLE, settings.VAULT_INDEX_TABLE)
    found = vault.search(SERVICE, ctx(), "ssn", "078051120")  # another spelling, same value
    assert [token_id for token_id, _ in found] == [token]
    # And Singapore reveals what it found.
    assert vault.detokenize(SERVICE, ctx(), token, ["ssn"]).data == {"ssn": SSN}


def test_both_regions_compute_the_same_fingerprints(regions: Regions, settings: Any) -> None:
    vault.tokenize(SERVICE, ctx(), {"ssn": SSN})
    version = fingerprints.newest_version()
    in_sydney = fingerprints.of_field("ssn", SSN, version)
    written = index_keys(SYD, settings.VAULT_INDEX_TABLE)
    assert in_sydney in written
    regions.use(SIN)
    assert fingerprints.newest_version() == version
    assert fingerprints.of_field("ssn", SSN, version) == in_sydney
    # A token made in Singapore indexes the same fingerprint as Sydney's.
    vault.tokenize(SERVICE, ctx(), {"ssn": SSN})
    assert index_keys(SIN, settings.VAULT_INDEX_TABLE) == written


def test_a_token_created_in_singapore_is_found_in_sydney_after_replication(
    regions: Regions, settings: Any
) -> None:
    regions.use(SIN)
    token = vault.tokenize(SERVICE, ctx(), {"ssn": SSN}).token_id
    assert token.startswith("TKN-SIN-")
    regions.use(SYD)
    for table in (settings.VAULT_TABLE, settings.VAULT_INDEX_TABLE):
        replicate_items(table, SIN, SYD)
    assert [token_id for token_id, _ in vault.search(SERVICE, ctx(), "ssn", SSN)] == [token]
