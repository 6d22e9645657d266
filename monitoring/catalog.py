"""What the monitoring page draws and what raises alerts."""

from __future__ import annotations

from dataclasses import dataclass

from monitoring.metrics import OUTCOMES

DAY = 86400
FAILURES = tuple(outcome for outcome in OUTCOMES if outcome != "success")


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    operations: tuple[str, ...]
    outcomes: tuple[str, ...]
    kind: str = "count"  # count (calls per period) or latency (mean ms)
    alert: bool = False  # alerts fire on it, and CloudWatch gets a detector and an alarm

    @property
    def counts(self) -> bool:
        return self.kind == "count"

    @property
    def unit(self) -> str:
        return "ms" if self.kind == "latency" else "calls"


METRICS = (
    Metric("detokenize-success", "Detokenize successes", ("detokenize",), ("success",), alert=True),
    Metric("detokenize-failure", "Detokenize failures", ("detokenize",), FAILURES, alert=True),
    Metric("tokenize-success", "Tokenize successes", ("tokenize",), ("success",)),
    Metric("tokenize-failure", "Tokenize failures", ("tokenize",), FAILURES),
    Metric(
        "manage", "Metadata, expiry changes and deletes", ("metadata", "change_expiry", "delete"), OUTCOMES
    ),
    # Search answers "is this value in the vault?": its volume (every outcome) alerts too.
    Metric("search", "Searches by value", ("search",), OUTCOMES, alert=True),
    Metric("detokenize-latency", "Detokenize mean latency", ("detokenize",), OUTCOMES, kind="latency"),
)
ALERTING = tuple(metric for metric in METRICS if metric.alert)


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    span: int  # seconds shown
    period: int  # seconds per point
    history: int  # seconds of history behind the first point shown, for the band
    per: str  # "per minute": what one point counts


RANGES = {
    r.key: r
    for r in (
        Range("1h", "1 hour", 3600, 60, 15 * DAY, "per minute"),
        Range("24h", "24 hours", DAY, 300, 29 * DAY, "per 5 minutes"),
        Range("7d", "7 days", 7 * DAY, 3600, 35 * DAY, "per hour"),
    )
}
DEFAULT_RANGE = "1h"
