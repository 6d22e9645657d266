"""Labelled per-caller traffic, for judging per-caller detection.

Written from what callers of a vault do, not from how the detector works: a
deployment is a population of API clients (a busy consumer-facing service with
a daily cycle, an office-hours back office, a small steady service, a client
made on the last day) and operators (weekday shifts that start and end at a
slightly different time each day, a lunch break, now and then a late evening),
on top of background traffic from many other small clients that only the
totals see. Clients' lookups of missing tokens run at about 1 % of their
reads (typos, expired tokens).

Attacks, each labelled on the caller it concerns (all required):

- `ten-times`: one client reads ten times its own rate for 30 minutes;
- `new-client`: a client made that day reads thousands of records (3,000 over
  three hours after an hour of light use);
- `off-hours`: an operator reveals a handful of records at about 03:00 on a
  weekday;
- `enumeration`: one client asks for tokens that do not exist, a few a
  minute for half an hour (about 180 distinct ids).

Attacks are sized to hide in the totals (checked by the tests, not assumed).
Two sets: `tuning()` (what the per-caller rules' defaults were chosen on)
and `held_out()` (other seeds, rates, start days and attack hours; never looked
at while choosing them).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.labelled_traffic import PER_DAY, poisson

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    kind: str  # ten-times, new-client, off-hours, enumeration
    metric: str  # reads or not_found
    start: int
    end: int  # one past the last labelled minute


@dataclass
class Trace:
    caller: str  # client:N or user:N
    role: str  # the kind of series, for the per-kind table
    reads: list[float | None]
    not_found: list[float | None]
    windows: list[Window] = field(default_factory=list)

    @property
    def operator(self) -> bool:
        return self.caller.startswith("user:")

    def values(self, metric: str) -> list[float | None]:
        return self.reads if metric == "reads" else self.not_found


@dataclass
class Population:
    name: str
    start: datetime
    days: int
    traces: list[Trace]
    total_reads: list[float]
    total_not_found: list[float]
    held_out: bool = False

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    @property
    def last_day(self) -> int:
        """Index of the first minute of the last day: where attacks are placed and judged."""
        return (self.days - 1) * PER_DAY


def _hour(start: datetime, i: int) -> tuple[int, float]:
    when = start + timedelta(minutes=i)
    return when.weekday(), when.hour + when.minute / 60


def _jitter(rng: random.Random, lam: float, cv: float) -> float:
    if cv <= 0 or lam <= 0:
        return lam
    k = 1 / cv**2
    return rng.gammavariate(k, lam / k)


def consumer(night: float, peak: float):
    """A consumer-facing service: a smooth daily cycle, peaking mid-afternoon, every day alike."""
    return lambda weekday, hour: night + (peak - night) * (1 + math.cos(2 * math.pi * (hour - 15) / 24)) / 2


def back_office(peak: float):
    """A back-office service: weekdays 08:00-18:00 with a lunch dip, a trickle at night and weekends."""

    def rate(weekday: int, hour: float) -> float:
        if weekday >= 5:
            return peak * 0.05
        if 8 <= hour < 18:
            return peak * (0.5 if 12 <= hour < 13 else 1.0)
        return peak * 0.05

    return rate


def steady(level: float):
    return lambda weekday, hour: level


def client_trace(
    rng: random.Random, caller: str, role: str, start: datetime, days: int, shape, cv: float, born: int = 0
) -> tuple[Trace, list[float]]:
    """A client's reads and not-found lookups (1 % of its rate), and its rate per minute."""
    reads: list[float | None] = []
    missing: list[float | None] = []
    rates: list[float] = []
    wander = 0.0
    for i in range(days * PER_DAY):
        weekday, hour = _hour(start, i)
        wander = 0.98 * wander + rng.gauss(0, 0.01)
        lam = shape(weekday, hour) * math.exp(wander)
        rates.append(lam)
        if i < born:
            reads.append(None)
            missing.append(None)
            continue
        reads.append(float(poisson(rng, _jitter(rng, lam, cv))))
        missing.append(float(poisson(rng, lam * 0.01)))
    return Trace(caller, role, reads, missing), rates


def operator_trace(rng: random.Random, caller: str, start: datetime, days: int, rate: float) -> Trace:
    """An operator's reveals: weekday shifts starting 08:00-09:30 and ending 16:30-18:00, now and
    then (one day in five) on until 19:00-20:00; a lunch break of 45-60 minutes; none at weekends."""
    reads: list[float | None] = [0.0] * (days * PER_DAY)
    for day in range(days):
        if (start + timedelta(days=day)).weekday() >= 5:
            continue
        begin = rng.uniform(8.0, 9.5)
        end = rng.uniform(19.0, 20.0) if rng.random() < 0.2 else rng.uniform(16.5, 18.0)
        lunch = rng.uniform(12.0, 13.0)
        lunch_end = lunch + rng.uniform(0.75, 1.0)
        for minute in range(round(begin * 60), round(end * 60)):
            hour = minute / 60
            if lunch <= hour < lunch_end:
                continue
            reads[day * PER_DAY + minute] = float(poisson(rng, rate))
    missing: list[float | None] = [float(poisson(rng, 0.002)) if v else 0.0 for v in reads]
    return Trace(caller, "operator", reads, missing)


def _add(values: list[float | None], first: int, counts: list[int]) -> None:
    for k, c in enumerate(counts):
        values[first + k] = (values[first + k] or 0.0) + c


@dataclass(frozen=True)
class Spec:
    name: str
    seed: int
    start_weekday: int  # of the first day; the last day is always a weekday
    days: int
    background: float  # peak reads a minute of every other client (only the totals see them)
    small: float  # the small steady client's rate (victim of ten-times)
    busy: float  # peak of the consumer-facing client (victim of the enumeration)
    operator_rate: float  # reveals a minute while on shift
    attack_hours: tuple[float, float, float, float]  # ten-times, new-client scrape, off-hours, enumeration
    held_out: bool = False


def build(spec: Spec) -> Population:
    rng = random.Random(spec.seed)
    start = MONDAY + timedelta(days=spec.start_weekday)
    days = spec.days
    last = (days - 1) * PER_DAY
    assert (start + timedelta(days=days - 1)).weekday() < 5, "attacks are on a weekday"
    traces: list[Trace] = []
    busy, _ = client_trace(
        rng, "client:1", "busy client", start, days, consumer(spec.busy / 8, spec.busy), 0.2
    )
    office, _ = client_trace(rng, "client:2", "office client", start, days, back_office(spec.busy / 3), 0.2)
    small, small_rate = client_trace(rng, "client:3", "small client", start, days, steady(spec.small), 0.0)
    born = last + round(9 * 60 + rng.uniform(0, 60))  # made on the last day, about 09:00-10:00
    calm_new, _ = client_trace(rng, "client:4", "new client", start, days, steady(1.5), 0.1, born=born)
    attacker, _ = client_trace(rng, "client:5", "new client", start, days, steady(0.5), 0.0, born=born)
    operators = [
        operator_trace(rng, f"user:{n}", start, days, spec.operator_rate * (0.6 + 0.4 * n)) for n in (1, 2, 3)
    ]
    ten, scrape, night, enum = spec.attack_hours

    # ten-times: the small client at ten times its own rate for 30 minutes.
    first = last + round(ten * 60)
    _add(small.reads, first, [poisson(rng, 9 * small_rate[first + k]) for k in range(30)])
    small.windows.append(Window("ten-times", "reads", first, first + 30))
    # new-client: 3,000 records over three hours, from an hour after it was made.
    first = max(born + 60, last + round(scrape * 60))
    _add(attacker.reads, first, [poisson(rng, 3000 / 180) for _ in range(180)])
    attacker.windows.append(Window("new-client", "reads", first, first + 180))
    # off-hours: operator 1 reveals five records between about 03:00 and 03:20.
    first = last + round(night * 60)
    _add(operators[0].reads, first, [1 if k % 4 == 0 else 0 for k in range(20)])
    operators[0].windows.append(Window("off-hours", "reads", first, first + 20))
    # enumeration: the busy client asks for about 180 missing tokens over 30 minutes.
    first = last + round(enum * 60)
    _add(busy.not_found, first, [poisson(rng, 6.0) for _ in range(30)])
    busy.windows.append(Window("enumeration", "not_found", first, first + 30))
    traces = [busy, office, small, calm_new, attacker, *operators]

    # Totals: these callers and the background of every other client (20 % jitter), whose
    # lookups of missing tokens (typos, expired tokens) run at 2 % of their reads.
    total_reads, total_missing = [], []
    background = consumer(spec.background / 6, spec.background)
    for i in range(days * PER_DAY):
        weekday, hour = _hour(start, i)
        lam = background(weekday, hour)
        reads = poisson(rng, _jitter(rng, lam, 0.2)) + sum(t.reads[i] or 0 for t in traces)
        missing = poisson(rng, _jitter(rng, lam * 0.02, 0.3)) + sum(t.not_found[i] or 0 for t in traces)
        total_reads.append(float(reads))
        total_missing.append(float(missing))
    return Population(spec.name, start, days, traces, total_reads, total_missing, spec.held_out)


TUNING = (
    Spec("tuning-a", 301, 0, 9, 600, 1.0, 20, 0.3, (14.0, 11.0, 3.0, 10.0)),
    Spec("tuning-b", 302, 2, 10, 900, 2.0, 30, 0.5, (16.5, 12.5, 2.5, 15.0)),
)
HELD_OUT = (
    Spec("held-out-a", 911, 1, 10, 1200, 0.5, 40, 0.2, (10.5, 13.0, 4.0, 19.0), held_out=True),
    Spec("held-out-b", 912, 3, 9, 700, 3.0, 12, 0.6, (20.0, 11.5, 1.5, 9.0), held_out=True),
)


def tuning() -> list[Population]:
    return [build(s) for s in TUNING]


def held_out() -> list[Population]:
    return [build(s) for s in HELD_OUT]


@dataclass(frozen=True)
class Score:
    population: str
    caller: str
    role: str
    metric: str
    windows: int
    found: int
    delays: list[int]  # minutes from a found window's start to its first flag
    false_alarms: int  # flags outside windows (and the hour after one), merged 5 minutes apart
    days: float  # days judged


MERGE = 5


def score(pop: Population, trace: Trace, metric: str, flags: list[bool], first: int) -> Score:
    """Flags for minutes first.. of the trace's metric against its labelled windows."""
    windows = [w for w in trace.windows if w.metric == metric]
    inside = set()
    for w in windows:
        inside.update(range(w.start, w.end + 60))
    alarms, last_flag = 0, None
    for k, flagged in enumerate(flags):
        i = first + k
        if flagged and i not in inside:
            if last_flag is None or i - last_flag > MERGE:
                alarms += 1
            last_flag = i
    delays = []
    for w in windows:
        hits = [i for i in range(w.start, w.end) if flags[i - first]]
        if hits:
            delays.append(hits[0] - w.start)
    # Days judged: from the caller's first minute (a client made on the last day is judged
    # for the part of it it existed).
    existing = sum(1 for i in range(first, first + len(flags)) if trace.values(metric)[i] is not None)
    return Score(
        pop.name, trace.caller, trace.role, metric, len(windows), len(delays), delays, alarms,
        existing / PER_DAY,
    )  # fmt: skip
