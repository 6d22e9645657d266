"""Vault items in DynamoDB (items already sealed by crypto).

Writes are built as transaction items, so the vault commits each with its
audit record in one TransactWriteItems: both land or neither.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tokens import aws, dynamo

SIGNATURE = "*amzn-ddb-map-sig*"
# The item /readyz reads and opens. Not a token id, so no API call or page can
# reach it; it holds no value and has no TTL.
CANARY_ID = "vault-canary"


def canary() -> dict[str, Any]:
    return {"tokenId": {"S": CANARY_ID}, "canary": {"S": "ok"}}


def _key(token_id: str) -> dict[str, Any]:
    return {"tokenId": {"S": token_id}}


def get(token_id: str) -> dict[str, Any] | None:
    """The raw (still encrypted) item, or None."""
    return dynamo.get_item(settings.VAULT_TABLE, _key(token_id))


def new(item: dict[str, Any]) -> dict[str, Any]:
    """Write a sealed item, only if its token id is new."""
    return dynamo.put(settings.VAULT_TABLE, item, "attribute_not_exists(tokenId)")


def _unchanged(previous: dict[str, Any]) -> dict[str, Any]:
    # The signature changes with every seal: it names the version we read.
    return {
        "condition": "#sig = :sig",
        "names": {"#sig": SIGNATURE},
        "values": {":sig": previous[SIGNATURE]},
    }


def replacement(item: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Overwrite an item, only if it is still exactly the version we read."""
    return dynamo.put(settings.VAULT_TABLE, item, **_unchanged(previous))


def removal(previous: dict[str, Any]) -> dict[str, Any]:
    """Delete an item, only if it is still exactly the version we read."""
    return dynamo.delete(settings.VAULT_TABLE, _key(previous["tokenId"]["S"]), **_unchanged(previous))


def ping() -> None:
    """Raise Unavailable unless the table answers."""
    if dynamo.describe_table(settings.VAULT_TABLE) is None:
        raise aws.unavailable("DynamoDB")


def scan_page(
    start_after: dict[str, Any] | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], Any]:
    """One page of raw items and the key to continue after (None at the end): for re-keying."""
    return dynamo.scan_page(settings.VAULT_TABLE, start_after, limit)


def approximate_count() -> int:
    """DynamoDB's item count (refreshed about every six hours): for progress bars only."""
    table = dynamo.describe_table(settings.VAULT_TABLE)
    return int((table or {}).get("ItemCount", 0))


# DynamoDB's own limit of actions per transaction.
TRANSACT_LIMIT = 100


def get_many(token_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The raw items of `token_ids`, by id (absent ids are left out), read in batches of 100.

    Keys DynamoDB leaves unprocessed are asked again while the request budget lasts.
    """
    keys = [_key(token_id) for token_id in dict.fromkeys(token_ids)]
    return {item["tokenId"]["S"]: item for item in dynamo.batch_get(settings.VAULT_TABLE, keys)}


def expiries(token_ids: list[str]) -> dict[str, int]:
    """The plaintext TTL of each item found, by id: the key and TTL only, no ciphertext read."""
    keys = [_key(token_id) for token_id in dict.fromkeys(token_ids)]
    items = dynamo.batch_get(settings.VAULT_TABLE, keys, projection="tokenId, #ttl", names={"#ttl": "TTL"})
    found: dict[str, int] = {}
    for item in items:
        try:
            found[item["tokenId"]["S"]] = int(item["TTL"]["N"])
        except (KeyError, ValueError):
            continue  # no readable TTL: never listed (a read of it fails its integrity check)
    return found
