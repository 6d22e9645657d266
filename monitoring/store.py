"""The local metric store (METRICS_SINK=db): per-minute buckets and queries over them.

Each vault operation costs one INSERT ... ON CONFLICT DO UPDATE statement (SQLite
and PostgreSQL both speak it), so concurrent requests never lose a count and
never need a lock or a read first.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Mod

from monitoring.models import CallerBucket, MetricBucket


def minute_of(timestamp: float) -> int:
    return int(timestamp) // 60 * 60


# Only our own model's quoted identifiers are formatted in; values always go as parameters.
_UPSERT = (
    "INSERT INTO {t} ({region}, {operation}, {outcome}, {minute}, {count}, {latency}) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT ({region}, {operation}, {outcome}, {minute}) DO UPDATE SET "
    "{count} = {t}.{count} + excluded.{count}, {latency} = {t}.{latency} + excluded.{latency}"
)


@functools.cache
def _upsert_sql() -> str:
    q = connection.ops.quote_name
    names = {"region", "operation", "outcome", "minute", "count"}
    quoted = {name: q(name) for name in names} | {"latency": q("latency_ms")}
    return _UPSERT.format(t=q(MetricBucket._meta.db_table), **quoted)  # noqa: S608


def add(region: str, operation: str, outcome: str, minute: int, count: int, latency_ms: float) -> None:
    params = (region, operation, outcome, minute_of(minute), count, latency_ms)
    # Inside someone else's transaction, a savepoint keeps a failure here from
    # poisoning it (PostgreSQL aborts the whole transaction on any error).
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), params)


def save_event(operation: str, outcome: str, seconds: float) -> None:
    """Count one operation now (metrics.record calls this and swallows any error)."""
    add(settings.VAULT_REGION_CODE, operation, outcome, int(time.time()), 1, seconds * 1000)


def counts(
    region: str,
    operations: Sequence[str],
    outcomes: Sequence[str],
    start: int,
    end: int,
    period: int,
) -> list[float]:
    """Sum of counts per period for start <= t < end (start, end multiples of period)."""
    totals = _per_period(region, operations, outcomes, start, end, period, "count")
    return [float(totals.get(t, 0)) for t in range(start, end, period)]


def mean_latency(
    region: str, operations: Sequence[str], outcomes: Sequence[str], start: int, end: int, period: int
) -> list[float | None]:
    """Mean latency in ms per period (None where nothing ran)."""
    n = _per_period(region, operations, outcomes, start, end, period, "count")
    ms = _per_period(region, operations, outcomes, start, end, period, "latency_ms")
    return [ms.get(t, 0.0) / n[t] if n.get(t) else None for t in range(start, end, period)]


def _per_period(
    region: str,
    operations: Sequence[str],
    outcomes: Sequence[str],
    start: int,
    end: int,
    period: int,
    column: str,
) -> dict[int, float]:
    rows = (
        MetricBucket.objects.filter(
            region=region,
            operation__in=list(operations),
            outcome__in=list(outcomes),
            minute__gte=start,
            minute__lt=end,
        )
        .annotate(bucket=_bucket(period))
        .values("bucket")
        .annotate(total=Sum(column))
        .values_list("bucket", "total")
    )
    return {int(bucket): float(total) for bucket, total in rows}


def _bucket(period: int) -> Any:
    """The start of the period a minute falls in, as an SQL expression."""
    if period == 60:
        return F("minute")
    return F("minute") - Mod(F("minute"), Value(period))


def totals(region: str, start: int, end: int) -> dict[tuple[str, str], int]:
    """Count per (operation, outcome) for start <= t < end."""
    rows = (
        MetricBucket.objects.filter(region=region, minute__gte=start, minute__lt=end)
        .values("operation", "outcome")
        .annotate(total=Sum("count"))
        .values_list("operation", "outcome", "total")
    )
    return {(op, outcome): int(total) for op, outcome, total in rows}


def regions() -> list[str]:
    return sorted(MetricBucket.objects.values_list("region", flat=True).distinct())


def add_many(rows: Iterable[tuple[str, str, str, int, int, float]]) -> int:
    """Add (region, operation, outcome, minute, count, latency_ms) rows; used by the backfill."""
    batch = [(r, op, oc, minute_of(m), c, ms) for r, op, oc, m, c, ms in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(), batch)
    return len(batch)


def prune(before: int) -> int:
    deleted, _ = MetricBucket.objects.filter(minute__lt=before).delete()
    callers, _ = CallerBucket.objects.filter(minute__lt=before).delete()
    return deleted + callers


def minutes_with_data(region: str, start: int, end: int) -> set[int]:
    return set(
        MetricBucket.objects.filter(region=region, minute__gte=start, minute__lt=end)
        .values_list("minute", flat=True)
        .distinct()
    )


def first_minute(region: str) -> int | None:
    """When the region's first count was recorded: before it, there is no data, not zero traffic."""
    row = (
        MetricBucket.objects.filter(region=region).order_by("minute").values_list("minute", flat=True).first()
    )
    return None if row is None else int(row)


# --- per caller -----------------------------------------------------------------------

_CALLER_UPSERT = (
    "INSERT INTO {t} ({region}, {caller}, {metric}, {minute}, {count}) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT ({region}, {caller}, {metric}, {minute}) DO UPDATE SET "
    "{count} = {t}.{count} + excluded.{count}"
)


@functools.cache
def _caller_upsert_sql() -> str:
    q = connection.ops.quote_name
    quoted = {name: q(name) for name in ("region", "caller", "metric", "minute", "count")}
    return _CALLER_UPSERT.format(t=q(CallerBucket._meta.db_table), **quoted)  # noqa: S608


def add_caller(region: str, caller: str, metric: str, minute: int, count: int) -> None:
    params = (region, caller, metric, minute_of(minute), count)
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(_caller_upsert_sql(), params)


def save_caller_event(caller: str, metric: str) -> None:
    """Count one call in a caller's own metric now (metrics.record calls this)."""
    add_caller(settings.VAULT_REGION_CODE, caller, metric, int(time.time()), 1)


def add_caller_many(rows: Iterable[tuple[str, str, str, int, int]]) -> int:
    """Add (region, caller, metric, minute, count) rows; for backfills and tests."""
    batch = [(r, caller, metric, minute_of(m), c) for r, caller, metric, m, c in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_caller_upsert_sql(), batch)
    return len(batch)


def caller_counts(region: str, caller: str, metric: str, start: int, end: int, period: int) -> list[float]:
    """A caller's count per period for start <= t < end (start, end multiples of period)."""
    rows = (
        CallerBucket.objects.filter(
            region=region, caller=caller, metric=metric, minute__gte=start, minute__lt=end
        )
        .annotate(bucket=_bucket(period))
        .values("bucket")
        .annotate(total=Sum("count"))
        .values_list("bucket", "total")
    )
    totals = {int(bucket): float(total) for bucket, total in rows}
    return [totals.get(t, 0.0) for t in range(start, end, period)]


def caller_first_minute(region: str, caller: str) -> int | None:
    """When the caller was first counted in this region (any per-caller metric)."""
    row = (
        CallerBucket.objects.filter(region=region, caller=caller)
        .order_by("minute")
        .values_list("minute", flat=True)
        .first()
    )
    return None if row is None else int(row)


def busiest_callers(region: str, metric: str, start: int, end: int, limit: int) -> list[tuple[str, int]]:
    """(caller, count) of the callers with the most of `metric` in [start, end), most first."""
    rows = (
        CallerBucket.objects.filter(region=region, metric=metric, minute__gte=start, minute__lt=end)
        .values("caller")
        .annotate(total=Sum("count"))
        .order_by("-total", "caller")
        .values_list("caller", "total")[:limit]
    )
    return [(caller, int(total)) for caller, total in rows]


def active_callers(region: str, start: int, end: int) -> list[str]:
    """Every caller with a count of any per-caller metric in [start, end)."""
    return sorted(
        CallerBucket.objects.filter(region=region, minute__gte=start, minute__lt=end)
        .values_list("caller", flat=True)
        .distinct()
    )
