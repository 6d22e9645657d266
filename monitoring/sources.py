"""Metric series with their expected band: from the local store, or from CloudWatch when deployed.

The page and the alert check both come through here, so what a person sees on
the graph is what the alerts act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from monitoring import app_settings, aws, detector, store
from monitoring.catalog import ALERTING, METRICS, Metric, Range


@dataclass
class Series:
    metric: Metric
    region: str
    start: int  # time of the first point shown
    period: int
    values: list[float | None]
    bands: list[detector.Band]
    partial: bool = False  # the last point is the period still running
    cloudwatch: list[tuple[float, float] | None] | None = None  # CloudWatch's band, when deployed
    cloudwatch_state: str = ""

    def time(self, i: int) -> int:
        return self.start + i * self.period

    def flagged(self, i: int) -> bool:
        """Outside the band; a period still running can only be flagged as too high."""
        band, value = self.bands[i], self.values[i]
        if not band.anomaly:
            return False
        if self.partial and i == len(self.values) - 1:
            return value is not None and band.upper is not None and value > band.upper
        return True

    def anomalies(self) -> list[int]:
        return [i for i in range(len(self.values)) if self.flagged(i)]

    @property
    def state(self) -> str:
        """ALARM while any of the last few points is outside the band (like CloudWatch's
        1-of-N alarm), INSUFFICIENT_DATA while there is no band yet, else OK."""
        window = int(app_settings.get("MONITORING_ALARM_WINDOW"))
        recent = range(max(0, len(self.values) - window), len(self.values))
        if any(self.flagged(i) for i in recent):
            return "ALARM"
        if not any(self.bands[i].known for i in recent):
            return "INSUFFICIENT_DATA"
        return "OK"


@dataclass
class Snapshot:
    region: str
    range: Range
    series: list[Series]
    totals: dict[tuple[str, str], int] = field(default_factory=dict)
    source: str = "local"  # local or cloudwatch
    problems: list[str] = field(default_factory=list)


def _values(
    metrics: list[Metric], region: str, start: int, end: int, period: int
) -> dict[str, list[float | None]]:
    if aws.deployed():
        return aws.series(region, metrics, start, end, period)
    out: dict[str, list[float | None]] = {}
    since = store.first_minute(region)
    for metric in metrics:
        if metric.counts:
            values: list[float | None] = list(
                store.counts(region, metric.operations, metric.outcomes, start, end, period)
            )
        else:
            values = store.mean_latency(region, metric.operations, metric.outcomes, start, end, period)
        # Before the first count ever recorded there is no data, not zero traffic.
        before = len(values) if since is None else max(0, min(len(values), (since - start) // period))
        missing: list[float | None] = [None] * before
        out[metric.key] = missing + values[before:]
    return out


def load(
    metrics: list[Metric], region: str, span: int, period: int, history: int, now: float, partial: bool
) -> list[Series]:
    """Each metric over the `span` seconds up to now, banded from `history` seconds before.

    With `partial`, the period still running is included as the last point.
    """
    end = int(now) // period * period + (period if partial else 0)
    shown = span // period
    first = end - shown * period
    begin = first - history // period * period
    values = _values(metrics, region, begin, end, period)
    out = []
    for metric in metrics:
        full = values[metric.key]
        banded = detector.bands(full, period, counts=metric.counts, start=len(full) - shown)
        out.append(Series(metric, region, first, period, full[-shown:], banded, partial=partial))
    return out


def snapshot(region: str, rng: Range, now: float | None = None) -> Snapshot:
    """Everything the monitoring page shows for one region and time range."""
    now = time.time() if now is None else now
    series = load(list(METRICS), region, rng.span, rng.period, rng.history, now, partial=True)
    snap = Snapshot(region, rng, series)
    if aws.deployed():
        snap.source = "cloudwatch"
        _add_cloudwatch(snap, now)
    else:
        end = int(now) // rng.period * rng.period + rng.period
        snap.totals = store.totals(region, end - rng.span, end)
    return snap


def _add_cloudwatch(snap: Snapshot, now: float) -> None:
    alerting = [s for s in snap.series if s.metric.alert]
    if not alerting:
        return
    first, period = alerting[0].start, alerting[0].period
    end = first + len(alerting[0].values) * period
    try:
        found = aws.bands(snap.region, [s.metric for s in alerting], first, end, period)
        for s in alerting:
            s.cloudwatch = found.get(s.metric.key)
    except aws.MonitoringUnavailable as exc:
        snap.problems.append(f"CloudWatch band: {exc}")
    try:
        states = aws.alarm_states(snap.region)
        for s in alerting:
            s.cloudwatch_state = states.get(s.metric.key, "not set up")
    except aws.MonitoringUnavailable as exc:
        snap.problems.append(f"CloudWatch alarms: {exc}")


def latest(region: str, minutes: int, now: float | None = None) -> list[Series]:
    """The alerting metrics over the last complete minutes, for the alert check."""
    now = time.time() if now is None else now
    return load(list(ALERTING), region, minutes * 60, 60, 15 * 86400, now, partial=False)


def judged_until(now: float) -> int:
    """The end of the newest minute that alarm states and alerts judge: a minute that has
    ended and, when deployed, has had time to reach CloudWatch (a half-ingested minute
    would look like a drop)."""
    delay = int(app_settings.get("MONITORING_CLOUDWATCH_DELAY_SECONDS")) if aws.deployed() else 0
    return (int(now) - delay) // 60 * 60


def states_now(region: str, now: float | None = None) -> tuple[dict[str, str], int]:
    """The alarm state of each alerting metric now, and the end of the minutes judged.

    Always the last MONITORING_ALARM_WINDOW finished minutes, whatever time range a page
    draws: a state is a property of the moment, not of the zoom (hourly points of a
    7-day chart would average a burst away).
    """
    until = judged_until(time.time() if now is None else now)
    window = int(app_settings.get("MONITORING_ALARM_WINDOW"))
    return {series.metric.key: series.state for series in latest(region, window, until)}, until
