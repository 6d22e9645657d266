"""What the monitoring page shows, ready for the template (the view only parses and renders)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from monitoring import app_settings, aws, charts, detector, sources, store
from monitoring import honeytokens as honeytoken_alerts
from monitoring.catalog import ALERTING, DEFAULT_RANGE, RANGES
from monitoring.metrics import OPERATIONS, OUTCOMES
from tokens import alert_state
from tokens.errors import VaultError


@dataclass(frozen=True)
class Point:
    value: float | None
    band: detector.Band
    time: datetime

    @classmethod
    def at(cls, series: sources.Series, i: int) -> Point:
        return cls(series.values[i], series.bands[i], datetime.fromtimestamp(series.time(i), tz=UTC))


@dataclass(frozen=True)
class Chart:
    series: sources.Series
    title_id: str
    svg: str
    anomalies: int
    latest: Point | None  # the newest complete point with a value
    last_anomaly: Point | None
    state: str = ""  # alerting metrics: ALARM, OK or INSUFFICIENT_DATA now, whatever the range
    phone_svg: str = ""  # the same chart drawn for a phone's width

    @classmethod
    def of(cls, series: sources.Series, title_id: str, state: str = "") -> Chart:
        size = charts.WIDE if series.metric.alert else charts.NARROW
        flagged = series.anomalies()
        last = len(series.values) - (2 if series.partial else 1)
        latest = next((i for i in range(last, -1, -1) if series.values[i] is not None), None)
        return cls(
            series=series,
            title_id=title_id,
            svg=charts.svg(series, title_id, size),
            anomalies=len(flagged),
            latest=None if latest is None else Point.at(series, latest),
            last_anomaly=Point.at(series, flagged[-1]) if flagged else None,
            state=state,
            phone_svg=charts.svg(series, title_id, charts.PHONE),
        )


def regions() -> list[str]:
    known = set(settings.REGION_CODES.values()) | {settings.VAULT_REGION_CODE}
    if not aws.deployed():
        known |= set(store.regions())
    return sorted(known)


def context(region: str | None, range_key: str | None, now: float | None = None) -> dict[str, Any]:
    """The template context for one region and time range; unknown choices fall back to defaults."""
    choices = regions()
    region = region if region in choices else settings.VAULT_REGION_CODE
    rng = RANGES.get(range_key or "", RANGES[DEFAULT_RANGE])
    problems: list[str] = []
    now = time.time() if now is None else now
    states: dict[str, str] = {}
    judged = sources.judged_until(now)
    try:
        snap = sources.snapshot(region, rng, now)
        states, judged = sources.states_now(region, now)
    except aws.MonitoringUnavailable as exc:
        snap = None
        problems.append(str(exc))
    decoy_uses, decoy_problem = honeytoken_alerts.recent(region, now)
    if decoy_problem:
        problems.append(decoy_problem)
    drawn: list[Chart] = []
    if snap is not None:
        problems += snap.problems
        drawn = [
            Chart.of(series, f"chart-{n}", states.get(series.metric.key, ""))
            for n, series in enumerate(snap.series)
        ]
    return {
        "regions": choices,
        "region": region,
        "ranges": list(RANGES.values()),
        "range": rng,
        "snapshot": snap,
        "alerting": [c for c in drawn if c.series.metric.alert],
        "others": [c for c in drawn if not c.series.metric.alert],
        "totals": _totals_table(snap.totals) if snap and snap.totals else [],
        "outcomes": OUTCOMES,
        "problems": problems,
        "deployed": aws.deployed(),
        "topic_set": bool(settings.ALERTS_SNS_TOPIC_ARN),
        "last_alerts": _last_alerts(region),
        "alarm_window": app_settings.get("MONITORING_ALARM_WINDOW"),
        "judged_until": datetime.fromtimestamp(judged, tz=UTC),
        "honeytokens": [
            {
                "hit": hit,
                "tokens": honeytoken_alerts.describe_tokens(hit),
                "audit_query": honeytoken_alerts.audit_query(hit),
            }
            for hit in decoy_uses
        ],
    }


def _totals_table(totals: dict[tuple[str, str], int]) -> list[dict[str, object]]:
    rows = []
    for op in OPERATIONS:
        cells = [totals.get((op, outcome), 0) for outcome in OUTCOMES]
        rows.append({"operation": op, "cells": cells, "total": sum(cells)})
    return rows


def _last_alerts(region: str) -> dict[str, datetime]:
    prefix = f"{region}:"
    try:
        sent = alert_state.last_sent([prefix + metric.key for metric in ALERTING])
    except VaultError:
        return {}  # the page still shows the charts
    return {key.removeprefix(prefix): datetime.fromtimestamp(when, tz=UTC) for key, when in sent.items()}
