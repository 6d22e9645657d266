"""Reads and writes of vault items in DynamoDB (items already sealed by crypto)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import aws
from tokens.errors import Conflict, VaultError

SIGNATURE = "*amzn-ddb-map-sig*"
# The item /readyz reads and opens. Not a token id, so no API call or page can
# reach it; it holds no value and has no TTL.
CANARY_ID = "vault-canary"


def canary() -> dict[str, Any]:
    return {"tokenId": {"S": CANARY_ID}, "canary": {"S": "ok"}}


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
