"""DynamoDB: the one seam every vault table goes through (items, audit records,
the API-key mirror, bootstrap), with one translation of its errors.

- a condition that failed: Conflict
- a transaction DynamoDB cancelled: TransactionCanceled, with one reason per item
- throttling, 5xx, timeouts, dropped connections, a spent budget: Unavailable (503)
- anything else: VaultError (500), logged by the vault with its code only

Each DynamoDB operation the vault uses has a named function here, so a search
for an operation finds every caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import botocore.exceptions

from tokens import aws, budget
from tokens.errors import Conflict, VaultError


class TransactionCanceled(Conflict):
    """DynamoDB refused a transaction: nothing in it was written."""

    def __init__(self, reasons: list[str]) -> None:
        # One code per item, in the order given ("None" for an item that was fine).
        self.reasons = reasons
        self.items: Sequence[dict[str, Any]] = ()
        super().__init__(internal=f"transaction canceled: {', '.join(reasons)}")

    def reason_for(self, item: dict[str, Any]) -> str:
        """Why DynamoDB refused `item` (one of the transaction's), or "None"."""
        for given, reason in zip(self.items, self.reasons, strict=False):
            if given is item:
                return reason
        return "None"

    @property
    def condition_failed(self) -> bool:
        return "ConditionalCheckFailed" in self.reasons


class TableMissing(VaultError):
    pass


def _client(region: str | None = None) -> Any:
    return aws.client("dynamodb", region)


def _call(call: Callable[..., Any], **kwargs: Any) -> Any:
    name = getattr(call, "__name__", "call")
    try:
        return call(**kwargs)
    except botocore.exceptions.ClientError as exc:
        code = aws.error_code(exc)
        if code == "ConditionalCheckFailedException":
            raise Conflict(internal=f"{name}: condition failed") from None
        if code == "TransactionCanceledException":
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            raise TransactionCanceled(reasons) from None
        if code == "ResourceNotFoundException":
            raise TableMissing(internal=f"DynamoDB {name}: no such table") from None
        if aws.is_unavailable(exc):
            raise aws.unavailable("DynamoDB") from None
        raise VaultError(internal=f"DynamoDB {name}: {code}") from None
    except botocore.exceptions.BotoCoreError:
        raise aws.unavailable("DynamoDB") from None


def _condition(kwargs: dict[str, Any], condition: str, names: dict[str, str] | None, values: Any) -> None:
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values


# --- one item -----------------------------------------------------------------


def get_item(table: str, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
    response = _call(_client().get_item, TableName=table, Key=key, ConsistentRead=consistent)
    item = response.get("Item")
    return None if item is None else dict(item)


def put(
    table: str,
    item: dict[str, Any],
    condition: str = "",
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Put, for put_item or as one item of transact_write."""
    request: dict[str, Any] = {"TableName": table, "Item": item}
    _condition(request, condition, names, values)
    return {"Put": request}


def delete(
    table: str,
    key: dict[str, Any],
    condition: str = "",
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Delete, for delete_item or as one item of transact_write."""
    request: dict[str, Any] = {"TableName": table, "Key": key}
    _condition(request, condition, names, values)
    return {"Delete": request}


def put_item(request: dict[str, Any]) -> None:
    """Write one Put (from `put`); Conflict if its condition fails."""
    _call(_client().put_item, **request["Put"])


def delete_item(request: dict[str, Any]) -> None:
    """Apply one Delete (from `delete`); Conflict if its condition fails."""
    _call(_client().delete_item, **request["Delete"])


def update_item(
    table: str,
    key: dict[str, Any],
    update: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    *,
    condition: str = "",
) -> None:
    """Conflict if `condition` is given and fails."""
    request: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": update}
    _condition(request, condition, names, values)
    _call(_client().update_item, **request)


def transact_write(items: Sequence[dict[str, Any]]) -> None:
    """Write all of `items` (from `put` and `delete`) or none.

    TransactionCanceled.reason_for tells which condition failed. The request
    token makes botocore's retry of an attempt whose answer was lost
    idempotent on AWS.
    """
    try:
        _call(_client().transact_write_items, TransactItems=list(items), ClientRequestToken=uuid.uuid4().hex)
    except TransactionCanceled as exc:
        exc.items = items
        raise


# --- many items -----------------------------------------------------------------

BATCH_GET_MAX = 100


def batch_get(
    table: str,
    keys: list[dict[str, Any]],
    *,
    consistent: bool = True,
    projection: str = "",
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The items found for `keys` (any order, missing ones left out), in batches of 100;
    only the attributes `projection` names, if given."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_MAX):
        request: dict[str, Any] = {"Keys": keys[start : start + BATCH_GET_MAX], "ConsistentRead": consistent}
        if projection:
            request["ProjectionExpression"] = projection
        if names:
            request["ExpressionAttributeNames"] = names
        pending: dict[str, Any] = {table: request}
        delay = 0.05
        while pending:
            response = _call(_client().batch_get_item, RequestItems=pending)
            found.extend(response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if pending:
                if not budget.sleep(delay):
                    raise aws.unavailable("DynamoDB")
                delay = min(delay * 2, 1.0)
    return found


def _pages(operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = _client().get_paginator(operation)
    pages = iter(paginator.paginate(**kwargs))

    def next_page() -> Any:
        return next(pages, None)

    while (page := _call(next_page)) is not None:
        yield from page.get("Items", [])


def query(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, page after page."""
    return _pages("query", TableName=table, **kwargs)


def scan(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item in the table, page after page."""
    return _pages("scan", TableName=table, **kwargs)


def scan_page(
    table: str, start_after: dict[str, Any] | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], Any]:
    """One consistent page of a Scan and the key to continue after (None at the end)."""
    kwargs: dict[str, Any] = {"TableName": table, "Limit": limit, "ConsistentRead": True}
    if start_after:
        kwargs["ExclusiveStartKey"] = start_after
    response = _call(_client().scan, **kwargs)
    return list(response.get("Items", [])), response.get("LastEvaluatedKey")


def count(table: str) -> int:
    response = _call(_client().scan, TableName=table, Select="COUNT")
    return int(response["Count"])


# --- tables (bootstrap, readiness) ----------------------------------------------


def describe_table(table: str, region: str | None = None) -> dict[str, Any] | None:
    """The table's description, or None if there is no such table."""
    try:
        return dict(_call(_client(region).describe_table, TableName=table)["Table"])
    except TableMissing:
        return None


def create_table(table: str, spec: dict[str, Any]) -> None:
    _call(_client().create_table, TableName=table, BillingMode="PAY_PER_REQUEST", **spec)


def wait_until_exists(table: str, delay: int = 1, attempts: int = 60) -> None:
    waiter = _client().get_waiter("table_exists")
    _call(waiter.wait, TableName=table, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})


def update_table(table: str, **changes: Any) -> None:
    _call(_client().update_table, TableName=table, **changes)


def ttl_status(table: str, region: str | None = None) -> str:
    response = _call(_client(region).describe_time_to_live, TableName=table)
    return str(response["TimeToLiveDescription"].get("TimeToLiveStatus", ""))


def enable_ttl(table: str, attribute: str, region: str | None = None) -> None:
    spec = {"Enabled": True, "AttributeName": attribute}
    _call(_client(region).update_time_to_live, TableName=table, TimeToLiveSpecification=spec)


def point_in_time_recovery(table: str, region: str | None = None) -> str:
    """ENABLED or DISABLED."""
    described = _call(_client(region).describe_continuous_backups, TableName=table)
    recovery = described["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    return str(recovery.get("PointInTimeRecoveryStatus", "DISABLED"))


def enable_pitr(table: str, region: str | None = None) -> None:
    spec = {"PointInTimeRecoveryEnabled": True}
    _call(_client(region).update_continuous_backups, TableName=table, PointInTimeRecoverySpecification=spec)
