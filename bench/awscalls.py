"""Count AWS calls by service, operation and DynamoDB table, with a botocore event hook.

The hook joins botocore's built-in handlers (as moto's own does), so every
client of every session built after `install()` reports to it: the vault's,
the seed baseline's, the SDK's own KMS clients. Retries of one call count once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.handlers

_seen: Counter[tuple[str, str]] = Counter()
_tables: Counter[tuple[str, str]] = Counter()
_installed = False


def _table_names(params: dict[str, Any]) -> set[str]:
    names = {params["TableName"]} if isinstance(params.get("TableName"), str) else set()
    names.update(params.get("RequestItems") or {})  # BatchGetItem, BatchWriteItem
    for entry in params.get("TransactItems") or []:  # TransactWriteItems, TransactGetItems
        for action in entry.values():
            if isinstance(action, dict) and isinstance(action.get("TableName"), str):
                names.add(action["TableName"])
    return names


def _count(params: dict[str, Any], model: Any, **_: Any) -> None:
    service, operation = model.service_model.service_name, model.name
    _seen[(service, operation)] += 1
    if service == "dynamodb":
        for table in _table_names(params):
            _tables[(table, operation)] += 1


def install() -> None:
    """Call before any boto3/botocore session exists (sessions copy the list when built)."""
    global _installed
    if not _installed:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _count))
        _installed = True


class Calls:
    """The calls made inside one `counting()` block."""

    def __init__(self) -> None:
        self.by_operation: Counter[tuple[str, str]] = Counter()
        self.by_table: Counter[tuple[str, str]] = Counter()

    def service(self, name: str) -> int:
        return sum(n for (service, _), n in self.by_operation.items() if service == name)

    def table(self, name: str) -> int:
        return sum(n for (table, _), n in self.by_table.items() if table == name)

    def describe(self, per: int = 1) -> str:
        if not self.by_operation:
            return "none"
        return ", ".join(
            f"{service}:{operation} {n / per:g}"
            for (service, operation), n in sorted(self.by_operation.items())
        )


@contextmanager
def counting() -> Iterator[Calls]:
    if not _installed:
        raise RuntimeError("awscalls.install() was not called before the first session")
    before, tables_before = Counter(_seen), Counter(_tables)
    calls = Calls()
    try:
        yield calls
    finally:
        calls.by_operation = _seen - before
        calls.by_table = _tables - tables_before
