"""Reads and writes of vault items in DynamoDB (items already sealed by crypto)."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import aws
from tokens.errors import Conflict, VaultError

SIGNATURE = "*amzn-ddb-map-sig*"


def _call(method: str, **kwargs: Any) -> Any:
    try:
        return getattr(aws.client("dynamodb"), method)(**kwargs)
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            raise Conflict(internal=f"{method}: condition failed") from None
        if aws.is_unavailable(exc):
            raise aws.unavailable("DynamoDB") from None
        raise VaultError(internal=f"DynamoDB {method}: {aws.error_code(exc)}") from None
    except botocore.exceptions.BotoCoreError:
        raise aws.unavailable("DynamoDB") from None


def get(token_id: str) -> dict[str, Any] | None:
    """The raw (still encrypted) item, or None."""
    response = _call(
        "get_item", TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token_id}}, ConsistentRead=True
    )
    return response.get("Item")


def put_new(item: dict[str, Any]) -> None:
    """Write a sealed item; fails with Conflict if the token id exists."""
    _call(
        "put_item",
        TableName=settings.VAULT_TABLE,
        Item=item,
        ConditionExpression="attribute_not_exists(tokenId)",
    )


def replace(item: dict[str, Any], previous: dict[str, Any]) -> None:
    """Overwrite an item only if it is still exactly the version we read."""
    _call(
        "put_item",
        TableName=settings.VAULT_TABLE,
        Item=item,
        ConditionExpression="#sig = :sig",
        ExpressionAttributeNames={"#sig": SIGNATURE},
        ExpressionAttributeValues={":sig": previous[SIGNATURE]},
    )


def delete(token_id: str) -> None:
    _call("delete_item", TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token_id}})


def ping() -> None:
    """Raise Unavailable unless the table answers."""
    _call("describe_table", TableName=settings.VAULT_TABLE)


# DynamoDB's own limits per call.
BATCH_GET_LIMIT = 100
TRANSACT_LIMIT = 100


def get_many(token_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The raw items of up to BATCH_GET_LIMIT token ids, by id (absent ids are left out).

    Keys DynamoDB leaves unprocessed (throttling) are asked again, with a short
    backoff, while the request budget lasts; after that the read is unavailable.
    """
    found: dict[str, dict[str, Any]] = {}
    keys = [{"tokenId": {"S": token_id}} for token_id in dict.fromkeys(token_ids)]
    for attempt in range(settings.AWS_MAX_ATTEMPTS + 1):
        if not keys:
            return found
        if attempt:
            time.sleep(min(0.05 * 2**attempt, 1.0))
        response = _call(
            "batch_get_item",
            RequestItems={settings.VAULT_TABLE: {"Keys": keys, "ConsistentRead": True}},
        )
        for item in response.get("Responses", {}).get(settings.VAULT_TABLE, []):
            found[item["tokenId"]["S"]] = item
        keys = response.get("UnprocessedKeys", {}).get(settings.VAULT_TABLE, {}).get("Keys", [])
    raise aws.unavailable("DynamoDB")


def put_many_new(items: list[dict[str, Any]]) -> None:
    """Write up to TRANSACT_LIMIT sealed items, each conditioned on a new id: all or none."""
    _call(
        "transact_write_items",
        TransactItems=[
            {
                "Put": {
                    "TableName": settings.VAULT_TABLE,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(tokenId)",
                }
            }
            for item in items
        ],
    )
