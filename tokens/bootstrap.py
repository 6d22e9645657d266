"""Create (idempotently) the tables, version 0 of this region's key material
and, on a local emulator, the KMS key; with `add_region`, replicate tables and
key into a second region and create version 0 of that region's material."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from tokens import aws, dynamo, fingerprints, index, keystore
from tokens.errors import VaultError


class BootstrapError(Exception):
    pass


def _create_table(name: str, spec: dict[str, Any]) -> str:
    if dynamo.describe_table(name) is not None:
        return f"table {name}: found"
    dynamo.create_table(name, spec)
    dynamo.wait_until_exists(name)
    return f"table {name}: created"


# The token list's rows by creator (tokens/index.py); only listing rows carry its key.
LISTING_BY_CREATOR: dict[str, Any] = {
    "IndexName": index.BY_CREATOR,
    "KeySchema": [
        {"AttributeName": index.CREATOR_PARTITION, "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}


def _ensure_listing_index() -> str:
    """Add the token list's index to an index table made before it (on AWS, the data stack adds it)."""
    name = settings.VAULT_INDEX_TABLE
    table = dynamo.describe_table(name) or {}
    if any(gsi.get("IndexName") == index.BY_CREATOR for gsi in table.get("GlobalSecondaryIndexes", [])):
        return f"table {name}: index {index.BY_CREATOR} found"
    dynamo.update_table(
        name,
        AttributeDefinitions=[
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": index.CREATOR_PARTITION, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[{"Create": LISTING_BY_CREATOR}],
    )
    return f"table {name}: index {index.BY_CREATOR} created (it fills as tokens are made)"


def _enable_ttl(name: str, region: str | None = None) -> str:
    where = f" in {region}" if region else ""
    if dynamo.ttl_status(name, region) in ("ENABLED", "ENABLING"):
        return f"table {name}{where}: TTL on 'TTL' already enabled"
    dynamo.enable_ttl(name, "TTL", region)
    return f"table {name}{where}: TTL on 'TTL' enabled"


# Enabling PITR right after creating a table or replica can fail with this
# until its backups are ready (minutes); then it is retried, never skipped.
PITR_NOT_YET = "ContinuousBackupsUnavailableException"
PITR_ATTEMPTS = 30


def _enable_pitr(name: str, region: str | None = None) -> str:
    """Point-in-time recovery on, or a BootstrapError: it never stays off silently."""
    where = f" in {region}" if region else ""
    for _ in range(PITR_ATTEMPTS):
        try:
            if dynamo.point_in_time_recovery(name, region) == "ENABLED":
                return f"table {name}{where}: point-in-time recovery on"
            dynamo.enable_pitr(name, region)
            return f"table {name}{where}: point-in-time recovery enabled"
        except VaultError as exc:
            code = (exc.internal or exc.code).rsplit(": ", 1)[-1]
            if code != PITR_NOT_YET:
                raise BootstrapError(
                    f"table {name}{where}: point-in-time recovery is off and could not be turned on ({code})"
                ) from None
            time.sleep(POLL_SECONDS)
    raise BootstrapError(f"table {name}{where}: point-in-time recovery still unavailable; run this again")


def _key(local: bool) -> str:
    kms = aws.client("kms")
    key = settings.VAULT_KMS_KEY
    try:
        kms.describe_key(KeyId=key)
        return f"KMS key {key}: found"
    except kms.exceptions.NotFoundException:
        if not local or not key.startswith("alias/"):
            raise BootstrapError(
                f"KMS key {key} not found; create the multi-Region key first (docs/deploy.md)"
            ) from None
    key_id = kms.create_key(Description="token vault (local emulator)", KeyUsage="ENCRYPT_DECRYPT")[
        "KeyMetadata"
    ]["KeyId"]
    kms.create_alias(AliasName=key, TargetKeyId=key_id)
    return f"KMS key {key}: created ({key_id})"


def bootstrap(local: bool | None = None) -> list[str]:
    """Tables for data, audit, API clients and keys; a KMS key only against an emulator."""
    local = bool(settings.AWS_ENDPOINT_URL) if local is None else local
    done = [
        _create_table(
            settings.VAULT_TABLE,
            {
                "AttributeDefinitions": [{"AttributeName": "tokenId", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "tokenId", "KeyType": "HASH"}],
            },
        ),
        _enable_ttl(settings.VAULT_TABLE),
        _enable_pitr(settings.VAULT_TABLE),
        _create_table(
            settings.VAULT_AUDIT_TABLE,
            {
                "AttributeDefinitions": [
                    {"AttributeName": "chain", "AttributeType": "S"},
                    {"AttributeName": "seq", "AttributeType": "N"},
                    {"AttributeName": "day", "AttributeType": "S"},
                    {"AttributeName": "at", "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "chain", "KeyType": "HASH"},
                    {"AttributeName": "seq", "KeyType": "RANGE"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "by_day",
                        "KeySchema": [
                            {"AttributeName": "day", "KeyType": "HASH"},
                            {"AttributeName": "at", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
        ),
        _enable_pitr(settings.VAULT_AUDIT_TABLE),
        _create_table(
            settings.VAULT_CLIENTS_TABLE,
            {
                "AttributeDefinitions": [{"AttributeName": "prefix", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "prefix", "KeyType": "HASH"}],
            },
        ),
        _create_table(
            settings.VAULT_INDEX_TABLE,
            {
                "AttributeDefinitions": [
                    {"AttributeName": "fp", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                    {"AttributeName": index.CREATOR_PARTITION, "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "fp", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "GlobalSecondaryIndexes": [LISTING_BY_CREATOR],
            },
        ),
        _ensure_listing_index(),
        _enable_ttl(settings.VAULT_INDEX_TABLE),
        _enable_pitr(settings.VAULT_INDEX_TABLE),
        _enable_pitr(settings.VAULT_CLIENTS_TABLE),
        _create_table(
            settings.VAULT_ALERT_STATE_TABLE,
            {
                "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
            },
        ),
        _enable_pitr(settings.VAULT_ALERT_STATE_TABLE),
        _create_table(
            settings.VAULT_IDEMPOTENCY_TABLE,
            {
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            },
        ),
        _enable_ttl(settings.VAULT_IDEMPOTENCY_TABLE),
        _create_table(
            settings.VAULT_DECOY_TABLE,
            {
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
            },
        ),
        _enable_ttl(settings.VAULT_DECOY_TABLE),  # hit rows expire; decoy rows carry no TTL
        _enable_pitr(settings.VAULT_DECOY_TABLE),
        _create_table(settings.VAULT_KEYS_TABLE, keystore.KEY_SCHEMA),
        _enable_pitr(settings.VAULT_KEYS_TABLE),
        _key(local),
        # After the key: the key store's items are encrypted under it.
        keystore.ensure_first_version(),
        fingerprints.ensure_key(),
        _canary(),
        _republish_clients(),
    ]
    return done


def _canary() -> str:
    """The item every reader's /readyz opens (written once; it replicates)."""
    from tokens import crypto, storage

    if storage.get(storage.CANARY_ID) is not None:
        return f"canary item {storage.CANARY_ID}: found"
    dynamo.put_item(storage.new(crypto.seal(storage.canary())))
    return f"canary item {storage.CANARY_ID}: written"


def _republish_clients() -> str:
    """Rebuild the API clients mirror from the database (after a restore, or a fresh emulator)."""
    from tokens.models import ApiClient

    try:
        clients = list(ApiClient.objects.all())
    except Exception:  # before the first migrate there is nothing to publish
        return "API clients: none to publish yet"
    for client in clients:
        client.save()
    return f"API clients: {len(clients)} published to {settings.VAULT_CLIENTS_TABLE}"


# --- a second region: global-table replicas and the multi-Region key replica ----
# Polling for replica creation (minutes on AWS); tests set it to 0.
POLL_SECONDS = 10.0
MAX_WAIT_SECONDS = 1800.0


def add_region(replica_region: str) -> list[str]:
    """Replicate the data, audit, clients, keys and idempotency tables and the KMS key into replica_region.

    Idempotent: what exists is reported and left alone. Run it from the home
    region (settings.AWS_REGION) after `bootstrap()`, with administrator
    credentials; the functions' roles cannot do any of this.
    """
    if replica_region == settings.AWS_REGION:
        raise BootstrapError(f"{replica_region} is the home region; name the other region")
    if settings.AWS_ENDPOINT_URL:
        raise BootstrapError("global-table replicas need AWS; the local emulator cannot replicate tables")
    code = settings.REGION_CODES.get(replica_region)
    if code is None:
        raise BootstrapError(f"{replica_region} has no region code; add it to REGION_CODES in settings")
    key = _multi_region_key()  # before any change: a single-Region key cannot be replicated
    done: list[str] = []
    tables = (
        settings.VAULT_TABLE,
        settings.VAULT_AUDIT_TABLE,
        settings.VAULT_CLIENTS_TABLE,
        settings.VAULT_KEYS_TABLE,
        settings.VAULT_INDEX_TABLE,
        settings.VAULT_IDEMPOTENCY_TABLE,
        settings.VAULT_DECOY_TABLE,
    )
    for table in tables:
        done.append(_replicate_table(table, replica_region))
    for expiring in (
        settings.VAULT_TABLE,
        settings.VAULT_INDEX_TABLE,
        settings.VAULT_IDEMPOTENCY_TABLE,
        settings.VAULT_DECOY_TABLE,
    ):
        done.append(_enable_ttl(expiring, replica_region))
    for table in tables:
        done.append(_enable_pitr(table, replica_region))
    # The other region's first version, written here and replicated there. Only
    # vault_bootstrap creates a version 0 (rotate_keys refuses without one), so no
    # write in the other region can race it; later versions are that region's own.
    done.append(keystore.ensure_first_version(code=code))
    done.extend(_replicate_key(key, replica_region))
    return done


def _describe(name: str) -> dict[str, Any]:
    table = dynamo.describe_table(name)
    if table is None:
        raise BootstrapError(f"table {name}: not found; run vault_bootstrap without --replica-region first")
    return table


def _replica_status(table: dict[str, Any], region: str) -> str | None:
    for replica in table.get("Replicas", []):
        if replica.get("RegionName") == region:
            return str(replica.get("ReplicaStatus", "ACTIVE"))
    return None


def _wait(name: str, region: str | None = None) -> dict[str, Any]:
    """Until the table (and, if given, its replica in region) is ACTIVE."""
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while True:
        table = _describe(name)
        ready = table.get("TableStatus") == "ACTIVE"
        if region is not None:
            ready = ready and _replica_status(table, region) == "ACTIVE"
        if ready:
            return table
        if time.monotonic() > deadline:
            raise BootstrapError(f"table {name}: still not active after {MAX_WAIT_SECONDS:.0f} s")
        time.sleep(POLL_SECONDS)


def _replicate_table(name: str, region: str) -> str:
    table = _wait(name)
    status = _replica_status(table, region)
    if status is not None:
        if status != "ACTIVE":
            _wait(name, region)
        return f"table {name}: replica in {region} found"
    stream = table.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        # Replicas need a stream of new and old images.
        dynamo.update_table(
            name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        )
        _wait(name)
    elif stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        raise BootstrapError(
            f"table {name}: its stream has view type {stream.get('StreamViewType')}; "
            "global tables need NEW_AND_OLD_IMAGES"
        )
    dynamo.update_table(name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
    _wait(name, region)
    return f"table {name}: replica in {region} created"


def _multi_region_key() -> dict[str, Any]:
    key = settings.VAULT_KMS_KEY
    meta = dict(aws.client("kms").describe_key(KeyId=key)["KeyMetadata"])
    if not meta.get("MultiRegion"):
        raise BootstrapError(
            f"KMS key {key} is a single-Region key; create a multi-Region key "
            "(aws kms create-key --multi-region) and point VAULT_KMS_KEY at it"
        )
    return meta


def _replicate_key(meta: dict[str, Any], region: str) -> list[str]:
    key = settings.VAULT_KMS_KEY
    config = meta["MultiRegionConfiguration"]
    primary = config["PrimaryKey"]
    regions = {primary["Region"]} | {r["Region"] for r in config.get("ReplicaKeys", [])}
    replica_arn = f"arn:aws:kms:{region}:{meta['AWSAccountId']}:key/{meta['KeyId']}"
    if region in regions:
        done = [f"KMS key {meta['KeyId']}: replica in {region} found ({replica_arn})"]
    else:
        replica_arn = aws.client("kms", primary["Region"]).replicate_key(
            KeyId=meta["KeyId"], ReplicaRegion=region, Description=meta.get("Description", "")
        )["ReplicaKeyMetadata"]["Arn"]
        done = [f"KMS key {meta['KeyId']}: replica in {region} created ({replica_arn})"]
    if key.startswith("alias/"):
        done.append(_alias(key, replica_arn, region))
    done.append(f"set VAULT_KMS_KEY={replica_arn} on the {region} functions")
    return done


def _alias(alias: str, target_arn: str, region: str) -> str:
    """Aliases are not replicated with the key: create the same alias in the replica region."""
    kms = aws.client("kms", region)
    try:
        kms.describe_key(KeyId=alias)
        return f"KMS alias {alias} in {region}: found"
    except kms.exceptions.NotFoundException:
        pass
    kms.create_alias(AliasName=alias, TargetKeyId=target_arn)
    return f"KMS alias {alias} in {region}: created"
