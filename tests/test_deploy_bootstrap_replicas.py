"""vault_bootstrap --replica-region: global-table replicas (DynamoDB stubbed at
the client, since moto does not replicate tables) and the multi-Region key
replica (moto), idempotently."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from django.core.management import CommandError, call_command

from tests.multiregion import SIN, SYD
from tokens import aws, bootstrap, keystore
from tokens.bootstrap import BootstrapError, add_region

TABLES = (
    "sensitive-data",
    "vault-audit",
    "vault-api-clients",
    "vault-keys",
    "vault-index",
    "vault-idempotency",
    "vault-decoys",
)
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def table(name: str, replica: str | None = None, stream: bool = False) -> dict[str, Any]:
    described: dict[str, Any] = {"TableName": name, "TableStatus": "ACTIVE"}
    if stream:
        described["StreamSpecification"] = STREAM
    if replica:
        described["Replicas"] = [{"RegionName": SIN, "ReplicaStatus": replica}]
    return {"Table": described}


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stubber, Stubber]]:
    monkeypatch.setattr(bootstrap, "POLL_SECONDS", 0)
    home, replica = Stubber(aws.client("dynamodb")), Stubber(aws.client("dynamodb", SIN))
    with home, replica:
        yield home, replica
    home.assert_no_pending_responses()
    replica.assert_no_pending_responses()


@pytest.fixture
def mrk(settings: Any) -> dict[str, Any]:
    meta = aws.client("kms").create_key(MultiRegion=True, Description="vault")["KeyMetadata"]
    settings.VAULT_KMS_KEY = meta["Arn"]
    return dict(meta)


def expect_replica_settings(replica: Stubber, ttl: str) -> None:
    for expiring in ("sensitive-data", "vault-index", "vault-idempotency", "vault-decoys"):
        replica.add_response(
            "describe_time_to_live",
            {"TimeToLiveDescription": {"TimeToLiveStatus": ttl}},
            {"TableName": expiring},
        )
        if ttl == "DISABLED":
            replica.add_response(
                "update_time_to_live",
                {},
                {
                    "TableName": expiring,
                    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "TTL"},
                },
            )
    for name in TABLES:
        replica.add_response(
            "describe_continuous_backups",
            {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "DISABLED"}},
            {"TableName": name},
        )
        replica.add_response(
            "update_continuous_backups",
            {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED"}},
            {"TableName": name, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
        )


def test_a_replica_region_gets_a_replica_of_each_table_and_of_the_key(
    stubs: tuple[Stubber, Stubber], mrk: dict[str, Any]
) -> None:
    home, replica = stubs
    for name in TABLES:
        home.add_response("describe_table", table(name), {"TableName": name})
        home.add_response("update_table", {}, {"TableName": name, "StreamSpecification": STREAM})
        home.add_response("describe_table", table(name, stream=True), {"TableName": name})
        home.add_response(
            "update_table", {}, {"TableName": name, "ReplicaUpdates": [{"Create": {"RegionName": SIN}}]}
        )
        home.add_response("describe_table", table(name, "CREATING", stream=True), {"TableName": name})
        home.add_response("describe_table", table(name, "ACTIVE", stream=True), {"TableName": name})
    expect_replica_settings(replica, "DISABLED")

    done = add_region(SIN)

    replica_arn = mrk["Arn"].replace(SYD, SIN)
    assert [line for line in done if line.startswith("table") and "replica" in line] == [
        f"table {name}: replica in {SIN} created" for name in TABLES
    ]
    assert f"table sensitive-data in {SIN}: TTL on 'TTL' enabled" in done
    # Singapore's first key version, written here for the global table to carry there.
    assert "key material vault-SIN: version 0 created" in done
    assert (keystore.current_version("vault-SYD"), keystore.current_version("vault-SIN")) == (0, 0)
    assert f"KMS key {mrk['KeyId']}: replica in {SIN} created ({replica_arn})" in done
    assert done[-1] == f"set VAULT_KMS_KEY={replica_arn} on the {SIN} functions"
    config = aws.client("kms").describe_key(KeyId=mrk["Arn"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert config["ReplicaKeys"] == [{"Arn": replica_arn, "Region": SIN}]


def test_a_second_run_finds_everything_and_changes_nothing(
    stubs: tuple[Stubber, Stubber], mrk: dict[str, Any]
) -> None:
    aws.client("kms").replicate_key(KeyId=mrk["KeyId"], ReplicaRegion=SIN)
    home, replica = stubs
    for name in TABLES:
        home.add_response("describe_table", table(name, "ACTIVE", stream=True), {"TableName": name})
    expect_replica_settings(replica, "ENABLED")

    done = add_region(SIN)

    assert [line for line in done if "replica in" in line] == [
        *(f"table {name}: replica in {SIN} found" for name in TABLES),
        f"KMS key {mrk['KeyId']}: replica in {SIN} found ({mrk['Arn'].replace(SYD, SIN)})",
    ]
    assert f"table sensitive-data in {SIN}: TTL on 'TTL' already enabled" in done


def test_an_aliased_key_gets_the_same_alias_in_the_replica_region(
    stubs: tuple[Stubber, Stubber], mrk: dict[str, Any], settings: Any
) -> None:
    aws.client("kms").create_alias(AliasName="alias/vault-mrk", TargetKeyId=mrk["KeyId"])
    settings.VAULT_KMS_KEY = "alias/vault-mrk"
    home, replica = stubs
    for name in TABLES:
        home.add_response("describe_table", table(name, "ACTIVE", stream=True), {"TableName": name})
    expect_replica_settings(replica, "ENABLED")
    replica_arn = mrk["Arn"].replace(SYD, SIN)
    # Aliases are not replicated with the key (moto shares them across regions, so stub Singapore's KMS).
    with Stubber(aws.client("kms", SIN)) as sin_kms:
        sin_kms.add_client_error(
            "describe_key", "NotFoundException", expected_params={"KeyId": "alias/vault-mrk"}
        )
        sin_kms.add_response("create_alias", {}, {"AliasName": "alias/vault-mrk", "TargetKeyId": replica_arn})

        done = add_region(SIN)

        sin_kms.assert_no_pending_responses()
    assert f"KMS alias alias/vault-mrk in {SIN}: created" in done


def test_a_stream_of_the_wrong_kind_stops_the_replica_step(
    stubs: tuple[Stubber, Stubber], mrk: dict[str, Any]
) -> None:
    home, _ = stubs
    keys_only = table("sensitive-data")
    keys_only["Table"]["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    home.add_response("describe_table", keys_only, {"TableName": "sensitive-data"})
    with pytest.raises(BootstrapError, match="global tables need NEW_AND_OLD_IMAGES"):
        add_region(SIN)


def test_a_single_region_key_is_refused_before_anything_changes(settings: Any) -> None:
    # conftest's key (alias/tokenizer) is an ordinary, single-Region key; no stubs, so
    # any DynamoDB change would reach moto and show up below.
    with pytest.raises(CommandError, match="single-Region key"):
        call_command("vault_bootstrap", "--replica-region", SIN)
    assert (
        "StreamSpecification"
        not in aws.client("dynamodb").describe_table(TableName="sensitive-data")["Table"]
    )


def test_the_home_region_is_not_a_replica_region(settings: Any) -> None:
    with pytest.raises(BootstrapError, match="is the home region"):
        add_region(SYD)


def test_replicas_are_refused_against_the_local_emulator(settings: Any) -> None:
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:5000"
    with pytest.raises(BootstrapError, match="local emulator"):
        add_region(SIN)


def test_point_in_time_recovery_is_retried_until_backups_are_ready(
    stubs: tuple[Stubber, Stubber],
) -> None:
    _, replica = stubs
    disabled = {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "DISABLED"}}
    replica.add_response("describe_continuous_backups", disabled, {"TableName": "vault-audit"})
    replica.add_client_error("update_continuous_backups", "ContinuousBackupsUnavailableException")
    replica.add_response("describe_continuous_backups", disabled, {"TableName": "vault-audit"})
    replica.add_response("update_continuous_backups", disabled)
    assert bootstrap._enable_pitr("vault-audit", SIN) == (
        f"table vault-audit in {SIN}: point-in-time recovery enabled"
    )


def test_point_in_time_recovery_that_cannot_be_enabled_stops_the_bootstrap(
    stubs: tuple[Stubber, Stubber],
) -> None:
    _, replica = stubs
    replica.add_client_error("describe_continuous_backups", "AccessDeniedException")
    with pytest.raises(BootstrapError) as caught:
        bootstrap._enable_pitr("vault-audit", SIN)
    assert str(caught.value) == (
        f"table vault-audit in {SIN}: point-in-time recovery is off and could not be turned on "
        "(AccessDeniedException)"
    )
