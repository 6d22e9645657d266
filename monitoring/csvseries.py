"""Read a `timestamp,value` CSV (one metric, one row per period) and band every row.

Timestamps are ISO 8601 (naive means UTC) or Unix seconds. The period is the
most common gap between rows; rows missing from the grid count as missing data,
not as zero.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from monitoring import detector


class SeriesError(ValueError):
    """The CSV is not a series we can read; the message says which row and why."""


@dataclass(frozen=True)
class Row:
    raw_timestamp: str
    timestamp: float
    value: float


def parse_timestamp(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SeriesError(f"not a timestamp: {text[:40]!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def read(stream: TextIO) -> list[Row]:
    rows = []
    for n, record in enumerate(csv.reader(stream), start=1):
        if not record or not "".join(record).strip():
            continue
        if len(record) < 2:
            raise SeriesError(f"row {n}: expected timestamp,value")
        if n == 1 and record[0].strip().lower() == "timestamp":
            continue  # header
        try:
            value = float(record[1])
        except ValueError:
            raise SeriesError(f"row {n}: not a number: {record[1][:40]!r}") from None
        if not math.isfinite(value):
            raise SeriesError(f"row {n}: not a finite number")
        try:
            rows.append(Row(record[0].strip(), parse_timestamp(record[0]), value))
        except SeriesError as exc:
            raise SeriesError(f"row {n}: {exc}") from None
    return rows


def period_of(rows: list[Row]) -> int:
    gaps = Counter(round(b.timestamp - a.timestamp) for a, b in zip(rows, rows[1:], strict=False))
    if not gaps:
        return 60
    period, _ = gaps.most_common(1)[0]
    if period <= 0:
        raise SeriesError("timestamps must increase from row to row")
    return int(period)


def band_rows(
    rows: list[Row], counts: bool = True, params: detector.Params = detector.DEFAULT
) -> Iterator[dict[str, Any]]:
    """One result per input row: timestamp, value, lower, upper, anomaly."""
    if not rows:
        return
    period = period_of(rows)
    origin = rows[0].timestamp
    slots: list[float | None] = []
    where = []
    for n, row in enumerate(rows):
        slot = round((row.timestamp - origin) / period)
        if slot < len(slots):
            raise SeriesError(f"row {n + 1}: timestamps must increase by about one period per row")
        if slot - len(slots) > 100000:
            raise SeriesError(f"row {n + 1}: a gap of over 100000 periods")
        slots.extend([None] * (slot - len(slots)))
        where.append(len(slots))
        slots.append(row.value)
    counts = counts and all(r.value >= 0 for r in rows)
    result = detector.bands(slots, period, counts=counts, params=params)
    for row, i in zip(rows, where, strict=True):
        yield _out(row, result[i])


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _timestamp(raw: str) -> str | float | int:
    """As given: a Unix time stays a number, an ISO 8601 string stays a string."""
    try:
        return _number(float(raw))
    except ValueError:
        return raw


def _out(row: Row, band: detector.Band) -> dict[str, Any]:
    return {
        "timestamp": _timestamp(row.raw_timestamp),
        "value": _number(row.value),
        "lower": None if band.lower is None else round(band.lower, 3),
        "upper": None if band.upper is None else round(band.upper, 3),
        "anomaly": band.anomaly,
    }
