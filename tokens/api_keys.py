"""API keys: generation, keyed hashing, and the DynamoDB mirror the API
authenticates against (so the request path needs no single-region database)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import aws
from tokens.actors import Actor

KEY_FORMAT = re.compile(r"^tvk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
LAST_USED_EVERY = 60  # seconds between last-used updates for one client


def new_key() -> tuple[str, str]:
    """(prefix, key). The key is shown once; only its keyed hash is stored."""
    prefix = secrets.token_hex(6)
    return prefix, f"tvk_{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    return hmac.new(settings.API_KEY_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest()


def prefix_of(key: str) -> str | None:
    match = KEY_FORMAT.fullmatch(key)
    return match.group(1) if match else None


def publish(
    prefix: str, *, client_id: int, name: str, scopes: list[str], fields: list[str] | None,
    active: bool, hashed: str, masked: list[str] | None = None,
) -> None:  # fmt: skip
    # An update, not a put: last_used, written by the request path, must survive.
    values: dict[str, Any] = {
        ":client_id": {"N": str(client_id)},
        ":name": {"S": name},
        ":scopes": {"L": [{"S": s} for s in scopes]},
        ":active": {"BOOL": active},
        ":key_hash": {"S": hashed},
        ":masked": {"L": [{"S": f} for f in masked or []]},
    }
    update = (
        "SET client_id = :client_id, #n = :name, scopes = :scopes, active = :active,"
        " key_hash = :key_hash, masked = :masked"
    )
    if fields is None:
        update += " REMOVE #f"
    else:
        values[":fields"] = {"L": [{"S": f} for f in fields]}
        update += ", #f = :fields"
    try:
        aws.client("dynamodb").update_item(
            TableName=settings.VAULT_CLIENTS_TABLE,
            Key={"prefix": {"S": prefix}},
            UpdateExpression=update,
            ExpressionAttributeNames={"#n": "name", "#f": "fields"},
            ExpressionAttributeValues=values,
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        raise aws.unavailable("DynamoDB") from None


def authenticate(key: str) -> Actor | None:
    """The actor for a presented key, or None. Raises Unavailable if DynamoDB is down."""
    prefix = prefix_of(key)
    if prefix is None:
        return None
    ddb = aws.client("dynamodb")
    try:
        item = ddb.get_item(
            TableName=settings.VAULT_CLIENTS_TABLE, Key={"prefix": {"S": prefix}}, ConsistentRead=True
        ).get("Item")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        raise aws.unavailable("DynamoDB") from None
    if item is None or not hmac.compare_digest(item["key_hash"]["S"], key_hash(key)):
        return None
    if not item["active"]["BOOL"]:
        return None
    _touch(prefix, item)
    fields = item.get("fields")
    return Actor(
        kind="api_client",
        id=f"client:{item['client_id']['N']}",
        name=item["name"]["S"],
        permissions=frozenset(s["S"] for s in item["scopes"]["L"]),
        allowed_fields=None if fields is None else frozenset(f["S"] for f in fields["L"]),
        masked_fields=frozenset(f["S"] for f in item.get("masked", {}).get("L", [])),
    )


def _touch(prefix: str, item: dict[str, Any]) -> None:
    now = int(time.time())
    if now - int(item.get("last_used", {}).get("N", "0")) < LAST_USED_EVERY:
        return
    try:
        aws.client("dynamodb").update_item(
            TableName=settings.VAULT_CLIENTS_TABLE,
            Key={"prefix": {"S": prefix}},
            UpdateExpression="SET last_used = :t",
            ExpressionAttributeValues={":t": {"N": str(now)}},
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        pass  # last-used is informational; never fail a request over it


def last_used(prefix: str) -> int | None:
    try:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=settings.VAULT_CLIENTS_TABLE, Key={"prefix": {"S": prefix}})
            .get("Item")
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return None
    if not item or "last_used" not in item:
        return None
    return int(item["last_used"]["N"])
