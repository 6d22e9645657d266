"""Create (idempotently) the tables and, on a local emulator, the KMS key."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tokens import aws


class BootstrapError(Exception):
    pass


def _create_table(name: str, spec: dict[str, Any]) -> str:
    ddb = aws.client("dynamodb")
    try:
        ddb.describe_table(TableName=name)
        return f"table {name}: found"
    except ddb.exceptions.ResourceNotFoundException:
        pass
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **spec)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return f"table {name}: created"


def _enable_ttl(name: str) -> str:
    ddb = aws.client("dynamodb")
    status = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return f"table {name}: TTL on 'TTL' already enabled"
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "TTL"})
    return f"table {name}: TTL on 'TTL' enabled"


def _enable_pitr(name: str) -> str:
    ddb = aws.client("dynamodb")
    try:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        return f"table {name}: point-in-time recovery enabled"
    except Exception as exc:  # not every emulator supports it
        return f"table {name}: point-in-time recovery not supported here ({type(exc).__name__})"


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
    """Tables for data, audit and API clients; a KMS key only against an emulator."""
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
        _key(local),
        _republish_clients(),
    ]
    return done


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
