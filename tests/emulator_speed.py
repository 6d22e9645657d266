"""A faster moto for tests and benches, without changing what it answers."""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.core.model_instances import model_data
from moto.dynamodb import models as moto_dynamodb

_installed = False


def copy_each_table_once() -> None:
    """moto 5.2.5's TransactWriteItems keeps a copy of each table it touches to roll
    back to, but deep-copies the table again for every action on it: a transaction of
    100 actions copied its table 100 times, so batches grew slower with every item the
    test had made. One copy per table per transaction rolls back just the same."""
    global _installed
    if _installed:
        return
    _installed = True
    transact = moto_dynamodb.DynamoDBBackend.transact_write_items
    lock = threading.Lock()  # the module's `copy` is swapped while a transaction runs

    class OncePerTable:
        def __init__(self) -> None:
            self.copies: dict[int, Any] = {}

        def deepcopy(self, obj: Any) -> Any:
            if not isinstance(obj, moto_dynamodb.Table):
                return copy.deepcopy(obj)
            if id(obj) not in self.copies:
                self.copies[id(obj)] = copy.deepcopy(obj)
            return self.copies[id(obj)]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            moto_dynamodb.copy = OncePerTable()  # type: ignore[assignment]
            try:
                return transact(self, transact_items)
            finally:
                moto_dynamodb.copy = copy
                # moto tracks every model instance it ever made, for its dashboard's
                # data listing only: the rollback copies too, items and all, and after a
                # failed transaction the tables they replaced. Memory grew with every
                # transaction times the table's size (a bench ran out of 24 GB). The
                # backends keep what they hold; the tracking goes.
                for model in model_data["dynamodb"].values():
                    model.instances_tracked.clear()

    moto_dynamodb.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
