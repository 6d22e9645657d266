"""Per-caller detection: each API client's and each operator's own traffic.

Totals hide one caller: a service reading ten times its norm, a client made
today reading thousands of records, an operator revealing at 3 a.m., or one
client asking for many tokens that do not exist, all fit inside a healthy
total. So two counts are kept per caller (monitoring.metrics.CALLER_METRICS):
records revealed ("reads") and lookups of tokens that do not exist
("not_found"), and each caller's series is judged on its own by three rules:

- **its own band** (after its first day): the built-in detector on the
  caller's own series, flagging rises only (a caller going quiet is not a
  security event; the totals see an outage);
- **new caller** (in its first day, when it has no norm): more than a fixed
  number in any 60 minutes (MONITORING_NEW_CALLER_LIMITS);
- **off hours** (operators with a week of history, records revealed): any
  reveal in an hour of the day (UTC) in which the operator revealed nothing
  on any of the previous 14 days, nor in the hour either side of it.

A caller is known by its actor id (client:7, user:3) only: never its name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from monitoring import app_settings, aws, detector, store
from monitoring.catalog import Metric, Range
from monitoring.metrics import CALLER_ID

HOUR = 3600
DAY = 86400

DEFAULTS: dict[str, Any] = {
    # A caller seen for less than this has no norm yet: the new-caller limits apply instead.
    "MONITORING_NEW_CALLER_SECONDS": DAY,
    # New callers: at most this many of each per-caller metric in any 60 minutes.
    "MONITORING_NEW_CALLER_LIMITS": {"reads": 500, "not_found": 50},
    # Operators: reveals in an hour of the day unseen for this many days are flagged ...
    "MONITORING_OFF_HOURS_DAYS": 14,
    # ... once the operator has this much history.
    "MONITORING_OFF_HOURS_AFTER_SECONDS": 7 * DAY,
    # The monitoring page draws this many of the busiest callers.
    "MONITORING_TOP_CALLERS": 4,
}


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


@dataclass(frozen=True)
class CallerMetric:
    key: str  # the store's and metrics' name: "reads" or "not_found"
    title: str
    action: str  # the audit search's filters that find the records behind it
    outcome: str


READS = CallerMetric("reads", "Records revealed", "detokenize", "success")
NOT_FOUND = CallerMetric("not_found", "Tokens not found", "", "not_found")
CALLER_METRICS = (READS, NOT_FOUND)
BY_KEY = {m.key: m for m in CALLER_METRICS}
KINDS = {"client": "API client", "user": "operator"}


def kind_of(caller: str) -> str:
    return KINDS.get(caller.split(":", 1)[0], "caller")


def is_caller(value: str) -> bool:
    return CALLER_ID.match(value) is not None


@dataclass(frozen=True)
class Limits:
    new_caller_seconds: int = DAY
    new_caller: dict[str, int] = field(default_factory=lambda: {"reads": 500, "not_found": 50})
    off_hours_days: int = 14
    off_hours_after: int = 7 * DAY

    @classmethod
    def configured(cls) -> Limits:
        return cls(
            int(setting("MONITORING_NEW_CALLER_SECONDS")),
            dict(setting("MONITORING_NEW_CALLER_LIMITS")),
            int(setting("MONITORING_OFF_HOURS_DAYS")),
            int(setting("MONITORING_OFF_HOURS_AFTER_SECONDS")),
        )


@dataclass(frozen=True)
class Verdict:
    band: detector.Band  # what the chart shades; anomaly is True when any rule flagged the point
    rule: str = ""  # "band", "new-caller" or "off-hours" when flagged
    window: int = 1  # periods the judged value covers (new-caller: the last 60 minutes)
    value: float = 0.0  # the judged value (new-caller: the 60-minute sum)


def assess(
    values: Sequence[float | None],
    start: int,
    period: int,
    metric: str,
    operator: bool,
    *,
    first: int = 0,
    limits: Limits | None = None,
    drawn: bool = True,
) -> list[Verdict]:
    """A verdict for each of values[first:], each from the points before it only.

    `values` holds one count per period from `start` (Unix seconds), None before
    the caller was first seen: history counts from its first value. Every rule
    flags only a period with a count in it, so without `drawn` (the alert check,
    which draws nothing) a series with no count from `first` on skips the detector.
    """
    limits = limits or Limits()
    n = len(values)
    origin = next((i for i, v in enumerate(values) if v is not None), n)
    first = max(first, 0)
    t0 = start + origin * period
    # The detector only for points past the caller's first day.
    grown = origin + -(-limits.new_caller_seconds // period)
    band_from = max(first, grown)
    banded = [detector.UNKNOWN] * max(0, n - band_from)
    if band_from < n and (drawn or any(values[band_from:])):
        banded = detector.bands(values, period, counts=True, start=band_from)
    hour_window = max(1, HOUR // period)
    limit = limits.new_caller.get(metric)
    off_hours = operator and metric == "reads" and period <= HOUR
    active = _active_hours(values, start, period) if off_hours else set()
    out: list[Verdict] = []
    for i in range(first, n):
        value = values[i]
        t = start + i * period
        if value is None:
            out.append(Verdict(detector.UNKNOWN))
            continue
        if i < grown:
            if limit is None:
                out.append(Verdict(detector.UNKNOWN))
                continue
            recent = [v or 0.0 for v in values[max(origin, i - hour_window + 1) : i + 1]]
            total = sum(recent)
            allowance = max(0.0, limit - (total - value))
            flagged = value > 0 and total > limit
            band = detector.Band(None, 0.0, allowance, flagged)
            out.append(
                Verdict(band, "new-caller" if flagged else "", len(recent), total if flagged else value)
            )
            continue
        band = banded[i - band_from]
        if off_hours and value > 0 and t - t0 >= limits.off_hours_after:
            day, hour = divmod(t // HOUR, 24)
            seen = any(
                (d, h % 24) in active
                for d in range(day - limits.off_hours_days, day)
                for h in (hour - 1, hour, hour + 1)
            )
            if not seen:
                out.append(Verdict(detector.Band(0.0, 0.0, 0.0, True), "off-hours", 1, value))
                continue
        rise = band.anomaly and band.expected is not None and value > band.expected
        out.append(
            Verdict(
                detector.Band(band.expected, band.lower, band.upper, rise), "band" if rise else "", 1, value
            )
        )
    return out


def _active_hours(values: Sequence[float | None], start: int, period: int) -> set[tuple[int, int]]:
    """(day, hour of day) of every hour (UTC) with at least one count."""
    return {divmod((start + i * period) // HOUR, 24) for i, v in enumerate(values) if v}


# --- series from the store or CloudWatch -----------------------------------------------


@dataclass
class CallerSeries:
    caller: str
    metric: CallerMetric
    region: str
    start: int
    period: int
    values: list[float | None]
    verdicts: list[Verdict]
    partial: bool = False

    @property
    def kind(self) -> str:
        return kind_of(self.caller)

    def time(self, i: int) -> int:
        return self.start + i * self.period

    def flagged(self) -> list[int]:
        last = len(self.values) - 1
        out = []
        for i, v in enumerate(self.verdicts):
            if not v.band.anomaly:
                continue
            if self.partial and i == last and v.rule == "band":
                value, upper = self.values[i], v.band.upper
                if value is None or upper is None or value <= upper:
                    continue
            out.append(i)
        return out


def _values(
    region: str, caller: str, metrics: Sequence[CallerMetric], begin: int, end: int, period: int
) -> dict[str, list[float | None]]:
    if aws.deployed():
        return aws.caller_series(region, caller, [m.key for m in metrics], begin, end, period)
    since = store.caller_first_minute(region, caller)
    out: dict[str, list[float | None]] = {}
    for m in metrics:
        counts: list[float | None] = list(store.caller_counts(region, caller, m.key, begin, end, period))
        before = len(counts) if since is None else max(0, min(len(counts), (since - begin) // period))
        missing: list[float | None] = [None] * before
        out[m.key] = missing + counts[before:]
    return out


def load(
    region: str,
    caller: str,
    span: int,
    period: int,
    history: int,
    now: float,
    partial: bool,
    metrics: Sequence[CallerMetric] = CALLER_METRICS,
    drawn: bool = True,
) -> list[CallerSeries]:
    """The caller's metrics over the `span` seconds up to now, judged from `history` before."""
    end = int(now) // period * period + (period if partial else 0)
    shown = span // period
    first = end - shown * period
    begin = first - history // period * period
    values = _values(region, caller, metrics, begin, end, period)
    limits = Limits.configured()
    operator = caller.startswith("user:")
    out = []
    for m in metrics:
        full = values[m.key]
        verdicts = assess(
            full, begin, period, m.key, operator, first=len(full) - shown, limits=limits, drawn=drawn
        )
        out.append(CallerSeries(caller, m, region, first, period, full[-shown:], verdicts, partial))
    return out


def history_for(period: int) -> int:
    """History behind the first point shown: enough for the detector's daily
    reference and the off-hours rule, less than the totals' (a caller's series is cheap to judge)."""
    return 15 * DAY if period == 60 else 29 * DAY


# --- alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerFinding:
    region: str
    caller: str
    metric: str
    rule: str
    minute: int  # the flagged period's start
    value: float
    lower: float
    upper: float
    expected: float | None
    window: int = 1  # minutes the value covers
    sent: bool = False
    note: str = ""

    @property
    def kind(self) -> str:
        return kind_of(self.caller)

    @property
    def title(self) -> str:
        return BY_KEY[self.metric].title

    def audit_url(self) -> str:
        """The audit search, already filtered to this caller, metric and window (UTC days)."""
        return audit_url(self.caller, BY_KEY[self.metric], self.minute - (self.window - 1) * 60, self.minute)

    def graph_url(self) -> str:
        return "/monitoring/?" + urlencode({"region": self.region, "range": "1h", "caller": self.caller})

    def describe(self) -> str:
        """One line, counts and ids only."""
        when = _utc(self.minute)
        number = _number(self.value)
        if self.rule == "new-caller":
            return (
                f"{self.kind} {self.caller}: {self.title.lower()} {number} in the {self.window} minutes "
                f"to {_utc(self.minute + 60)}, above {_number(self.upper)}, the limit "
                f"for a caller first seen less than a day ago"
            )
        if self.rule == "off-hours":
            hour = datetime.fromtimestamp(self.minute, tz=UTC).strftime("%H:00")
            return (
                f"{self.kind} {self.caller}: {self.title.lower()} {number} in the minute from {when}, "
                f"in the hour from {hour} UTC, when it revealed nothing (nor in the hour either side) "
                f"on any of the last {int(setting('MONITORING_OFF_HOURS_DAYS'))} days; expected 0"
            )
        expected = "" if self.expected is None else f"expected about {_number(self.expected)}; "
        return (
            f"{self.kind} {self.caller}: {self.title.lower()} {number} in the minute from {when}; "
            f"{expected}its own normal band {_number(self.lower)} to {_number(self.upper)}"
        )


def audit_url(caller: str, metric: CallerMetric, since: int, until: int) -> str:
    query = {"actor": caller}
    if metric.action:
        query["action"] = metric.action
    if metric.outcome:
        query["outcome"] = metric.outcome
    query["start"] = datetime.fromtimestamp(since, tz=UTC).date().isoformat()
    query["end"] = datetime.fromtimestamp(until, tz=UTC).date().isoformat()
    return "/audit?" + urlencode(query)


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def active(region: str, start: int, end: int) -> list[str]:
    if aws.deployed():
        return aws.active_callers(region)
    return store.active_callers(region, start, end)


def findings(region: str, minutes: int, now: float | None = None) -> list[CallerFinding]:
    """Each caller active in the last `minutes` complete minutes, judged; the newest flag of each metric."""
    now_s = int(time.time() if now is None else now)
    end = now_s // 60 * 60
    limits = Limits.configured()
    out = []
    for caller in active(region, end - minutes * 60, end):
        if not is_caller(caller):
            continue
        for s in load(region, caller, minutes * 60, 60, history_for(60), now_s, partial=False, drawn=False):
            flagged = s.flagged()
            if not flagged:
                continue
            i = flagged[-1]
            v = s.verdicts[i]
            upper = v.band.upper or 0.0
            if v.rule == "new-caller":  # the judged value is the last hour's: so is its limit
                upper = float(limits.new_caller.get(s.metric.key, 0))
            out.append(
                CallerFinding(
                    region=region,
                    caller=caller,
                    metric=s.metric.key,
                    rule=v.rule,
                    minute=s.time(i),
                    value=v.value,
                    lower=v.band.lower or 0.0,
                    upper=upper,
                    expected=v.band.expected,
                    window=v.window,
                )
            )
    return out


def message(finding: CallerFinding) -> tuple[str, str]:
    """Subject (<= 100 characters) and body of a per-caller alert: ids and counts only."""
    subject = (
        f"Token vault {finding.region}: {finding.kind} {finding.caller} "
        f"{finding.title.lower()} {_RULE_WORDS[finding.rule]}"
    )
    body = "\n".join(
        [
            f"Token vault alert from the built-in per-caller detector ({finding.region}).",
            "",
            f"Caller: {finding.kind} {finding.caller}",
            f"Metric: {finding.title.lower()} ({finding.metric})",
            f"Rule: {finding.rule}",
            finding.describe() + ".",
            "",
            f"Audit records: {finding.audit_url()}",
            f"Graph: {finding.graph_url()}",
        ]
    )
    return subject[:100], body


_RULE_WORDS = {
    "band": "above its own band",
    "new-caller": "above the new-caller limit",
    "off-hours": "at an hour it does not work",
}


# --- the monitoring page --------------------------------------------------------------


@dataclass
class CallerCharts:
    caller: str
    kind: str
    total: int  # records revealed in the range
    series: list[CallerSeries]
    audit: str
    charts: list[Any] = field(default_factory=list)  # monitoring.page.Chart, one per series

    @property
    def in_alarm(self) -> bool:
        """Flagged in any of its last few points, like the totals' alarm state."""
        window = int(app_settings.get("MONITORING_ALARM_WINDOW"))
        return any(i >= len(s.values) - window for s in self.series for i in s.flagged())

    @property
    def anchor(self) -> str:
        return "caller-" + self.caller.replace(":", "-")


def top(region: str, rng: Range, now: float, wanted: str = "") -> list[CallerCharts]:
    """The busiest callers by records revealed in the range (and `wanted`, if given), charted."""
    end = int(now) // rng.period * rng.period + rng.period
    begin = end - rng.span
    limit = int(setting("MONITORING_TOP_CALLERS"))
    if aws.deployed():
        # CloudWatch lists callers, not their volume: read a few and keep the busiest.
        busiest = [(c, -1) for c in aws.active_callers(region)[: 3 * limit]]
    else:
        busiest = store.busiest_callers(region, "reads", begin, end, limit)
        if len(busiest) < limit:  # callers with only not-found lookups
            for caller, _ in store.busiest_callers(region, "not_found", begin, end, limit):
                if caller not in dict(busiest) and len(busiest) < limit:
                    busiest.append((caller, 0))
    if wanted and is_caller(wanted) and wanted not in dict(busiest):
        busiest.insert(0, (wanted, -1))
    out = []
    for caller, total in busiest:
        if not is_caller(caller):
            continue
        series = load(region, caller, rng.span, rng.period, history_for(rng.period), now, partial=True)
        reads = series[0]
        if total < 0:
            total = int(sum(v or 0 for v in reads.values))
        audit = audit_url(caller, READS, begin, end - 1)
        out.append(CallerCharts(caller, kind_of(caller), total, series, audit))
    if aws.deployed():
        out.sort(key=lambda c: (c.caller != wanted, -c.total))
        out = out[: limit + (1 if wanted else 0)]
    return out


def as_metric(s: CallerSeries) -> Metric:
    """A catalog Metric for the chart code (title, unit)."""
    return Metric(f"{s.caller}-{s.metric.key}", s.metric.title, (), (), kind="count")


def chart_series(s: CallerSeries) -> Any:
    """The caller's series in the shape monitoring.charts draws (sources.Series)."""
    from monitoring.sources import Series

    return Series(
        as_metric(s), s.region, s.start, s.period, s.values, [v.band for v in s.verdicts], partial=s.partial
    )


def page_context(region: str, rng: Range, wanted: str | None, now: float | None = None) -> dict[str, Any]:
    """The monitoring page's "Top callers" section (the view adds it to the page's context)."""
    from monitoring.page import Chart

    wanted = wanted if wanted and is_caller(wanted) else ""
    try:
        found = top(region, rng, time.time() if now is None else now, wanted)
    except aws.MonitoringUnavailable as exc:
        return {"callers": [], "caller_problem": f"Callers: {exc}", "caller_wanted": wanted}
    for c in found:
        c.charts = [Chart.of(chart_series(s), f"{c.anchor}-{s.metric.key}") for s in c.series]
    return {"callers": found, "caller_problem": "", "caller_wanted": wanted}
