"""When each region last alerted about each metric: a DynamoDB table of the
region's own (VAULT_ALERT_STATE_TABLE), so a region's alerting stands alone when
the other region and the relational database are down. monitoring.alerts
decides; this module (tokens owns DynamoDB) keeps the state.

The right to alert is taken with one conditional update, so of any number of
processes checking at once exactly one sends.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import aws

Before = tuple[int | None, int | None]  # (last_sent, last_point) before a claim


def _number(item: dict[str, Any], name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def claim(key: str, minute: int, now: int, quiet_since: int) -> Before | None:
    """Take the right to alert about `minute`; None if suppressed or already taken.
    Raises Unavailable if DynamoDB does not answer."""
    try:
        response = aws.client("dynamodb").update_item(
            TableName=settings.VAULT_ALERT_STATE_TABLE,
            Key={"key": {"S": key}},
            UpdateExpression="SET last_sent = :now, last_point = :minute",
            ConditionExpression=(
                "(attribute_not_exists(last_sent) OR last_sent <= :quiet)"
                " AND (attribute_not_exists(last_point) OR last_point < :minute)"
            ),
            ExpressionAttributeValues={
                ":now": {"N": str(now)},
                ":minute": {"N": str(minute)},
                ":quiet": {"N": str(quiet_since)},
            },
            ReturnValues="UPDATED_OLD",
        )
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise aws.unavailable("DynamoDB") from None
    except botocore.exceptions.BotoCoreError:
        raise aws.unavailable("DynamoDB") from None
    old = response.get("Attributes", {})
    return _number(old, "last_sent"), _number(old, "last_point")


def give_back(key: str, now: int, minute: int, before: Before) -> None:
    """Undo our claim (the alert was not sent), unless another process moved on since."""
    values: dict[str, Any] = {":now": {"N": str(now)}, ":minute": {"N": str(minute)}}
    sets, removes = [], []
    for name, value in zip(("last_sent", "last_point"), before, strict=True):
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = :old_{name}")
            values[f":old_{name}"] = {"N": str(value)}
    update = " ".join(
        part
        for part in (sets and "SET " + ", ".join(sets), removes and "REMOVE " + ", ".join(removes))
        if part
    )
    try:
        aws.client("dynamodb").update_item(
            TableName=settings.VAULT_ALERT_STATE_TABLE,
            Key={"key": {"S": key}},
            UpdateExpression=update,
            ConditionExpression="last_sent = :now AND last_point = :minute",
            ExpressionAttributeValues=values,
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        pass  # at worst this alert stays suppressed for one quiet period


def last_sent(keys: list[str]) -> dict[str, int]:
    """When each of these keys last alerted (keys never alerted are left out)."""
    found = {}
    for key in keys:
        try:
            item = (
                aws.client("dynamodb")
                .get_item(TableName=settings.VAULT_ALERT_STATE_TABLE, Key={"key": {"S": key}})
                .get("Item", {})
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            raise aws.unavailable("DynamoDB") from None
        sent = _number(item, "last_sent")
        if sent is not None:
            found[key] = sent
    return found
