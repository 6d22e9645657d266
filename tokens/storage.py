"""Reads and writes of vault items in DynamoDB (items already sealed by crypto)."""

from __future__ import annotations

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


def scan_page(
    start_after: dict[str, Any] | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], Any]:
    """One page of raw items and the key to continue after (None at the end): for re-keying."""
    kwargs: dict[str, Any] = {"TableName": settings.VAULT_TABLE, "Limit": limit, "ConsistentRead": True}
    if start_after:
        kwargs["ExclusiveStartKey"] = start_after
    response = _call("scan", **kwargs)
    return list(response.get("Items", [])), response.get("LastEvaluatedKey")


def approximate_count() -> int:
    """DynamoDB's item count (refreshed about every six hours): for progress bars only."""
    return int(_call("describe_table", TableName=settings.VAULT_TABLE)["Table"].get("ItemCount", 0))
