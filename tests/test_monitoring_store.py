"""The local metric store: one atomic upsert per operation, and the queries over it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, connection, transaction

from monitoring import store
from monitoring.models import MetricBucket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def vault_aws() -> None:
    """The store is plain SQL: no AWS emulator needed (overrides the conftest one)."""


T0 = 1_741_000_000 // 3600 * 3600  # on the hour
T = TypeVar("T")


def retry_locked(action: Callable[[], T]) -> T:
    """The in-memory SQLite test database refuses, rather than waits for, a concurrent
    writer ("table is locked"); a real process would retry, so the threads do too."""
    for _ in range(200):
        try:
            return action()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.005)
    raise AssertionError("the table stayed locked")


def test_events_in_the_same_minute_share_one_bucket() -> None:
    for seconds in (0.010, 0.020, 0.030):
        store.add("SYD", "detokenize", "success", T0 + 5, 1, seconds * 1000)
    store.add("SYD", "detokenize", "success", T0 + 59, 1, 40.0)
    store.add("SYD", "detokenize", "success", T0 + 60, 1, 50.0)
    rows = list(MetricBucket.objects.order_by("minute").values_list("minute", "count", "latency_ms"))
    assert rows == [(T0, 4, pytest.approx(100.0)), (T0 + 60, 1, 50.0)]


def test_outcomes_and_regions_are_kept_apart() -> None:
    store.add("SYD", "detokenize", "success", T0, 2, 1.0)
    store.add("SYD", "detokenize", "not_found", T0, 3, 1.0)
    store.add("SIN", "detokenize", "success", T0, 7, 1.0)
    assert store.totals("SYD", T0, T0 + 60) == {("detokenize", "success"): 2, ("detokenize", "not_found"): 3}
    assert store.regions() == ["SIN", "SYD"]


def test_counts_are_summed_per_period_with_zeros_where_quiet() -> None:
    store.add("SYD", "detokenize", "not_found", T0, 2, 1.0)
    store.add("SYD", "detokenize", "denied", T0 + 60, 3, 1.0)
    store.add("SYD", "detokenize", "success", T0 + 60, 50, 1.0)
    store.add("SYD", "detokenize", "error", T0 + 600, 1, 1.0)
    failures = ("not_found", "denied", "error")
    assert store.counts("SYD", ["detokenize"], failures, T0, T0 + 900, 300) == [5.0, 0.0, 1.0]
    assert store.counts("SYD", ["detokenize"], failures, T0, T0 + 180, 60) == [2.0, 3.0, 0.0]


def test_mean_latency_is_per_call_and_missing_where_nothing_ran() -> None:
    store.add("SYD", "detokenize", "success", T0, 4, 100.0)
    store.add("SYD", "detokenize", "not_found", T0, 1, 50.0)
    means = store.mean_latency("SYD", ["detokenize"], ["success", "not_found"], T0, T0 + 120, 60)
    assert means == [30.0, None]


def test_the_first_minute_of_a_region_is_known() -> None:
    assert store.first_minute("SYD") is None
    store.add("SYD", "tokenize", "success", T0 + 120, 1, 1.0)
    store.add("SYD", "tokenize", "success", T0 + 60, 1, 1.0)
    assert store.first_minute("SYD") == T0 + 60


def test_a_store_failure_inside_a_transaction_does_not_poison_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_upsert_sql", lambda: "INSERT INTO no_such_table VALUES (%s)")
    with transaction.atomic():
        with pytest.raises(Exception):  # noqa: B017 (whatever the backend raises)
            store.add("SYD", "tokenize", "success", T0, 1, 1.0)
        # The transaction is still usable: the savepoint was rolled back, not the whole thing.
        MetricBucket.objects.create(region="SYD", operation="tokenize", outcome="success", minute=T0, count=1)
    assert MetricBucket.objects.count() == 1


def test_backfill_rows_are_added_in_one_go_and_prune_drops_old_minutes() -> None:
    rows = [("SYD", "tokenize", "success", T0 + 60 * i, 1, 20.0) for i in range(10)]
    assert store.add_many(rows) == 10
    assert store.add_many(rows[:2]) == 2
    assert store.counts("SYD", ["tokenize"], ["success"], T0, T0 + 180, 60) == [2.0, 2.0, 1.0]
    assert store.prune(T0 + 300) == 5
    assert store.first_minute("SYD") == T0 + 300


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_lose_a_count() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                retry_locked(lambda: store.add("SYD", "detokenize", "success", T0, 1, 1.0))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert MetricBucket.objects.get().count == 200


def test_save_event_counts_now_in_this_region(settings: Any) -> None:
    settings.VAULT_REGION_CODE = "SIN"
    store.save_event("tokenize", "success", 0.002)
    row = MetricBucket.objects.get()
    assert (row.region, row.operation, row.outcome, row.count) == ("SIN", "tokenize", "success", 1)
    assert row.latency_ms == pytest.approx(2.0)
