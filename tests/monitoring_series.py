"""Labelled synthetic traffic for measuring the anomaly detector.

Each series is one value per minute (detokenize successes, or failures for the
enumeration series), built from a seeded random generator so the figures in
docs/monitoring.md are reproducible. Labelled events are windows of points an
alert should fire in; everything outside them is normal traffic, where any
flag is a false alarm.

Traffic shape: quiet nights (~2/min), a business-day curve peaking near
30/min with a lunch dip, weekends at a third of weekdays, Poisson noise on a
slowly wandering rate (real traffic is burstier than Poisson).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

PERIOD = 60
PER_DAY = 86400 // PERIOD
# Monday 3 March 2025, 00:00 UTC: day 5 and 6 of each week are the weekend.
EPOCH = int(datetime(2025, 3, 3, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Event:
    kind: str  # burst, ramp, shift
    start: int  # first labelled index
    end: int  # one past the last labelled index


@dataclass
class Labelled:
    name: str
    description: str
    values: list[int]
    events: list[Event] = field(default_factory=list)
    period: int = PERIOD
    start: int = EPOCH

    @property
    def days(self) -> float:
        return len(self.values) * self.period / 86400

    def labels(self) -> list[bool]:
        marked = [False] * len(self.values)
        for event in self.events:
            for i in range(event.start, event.end):
                marked[i] = True
        return marked

    def timestamp(self, i: int) -> int:
        return self.start + i * self.period


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def business_curve(hour: float) -> float:
    """0 at night, ~1 in office hours, with a dip at lunch."""
    day = _sigmoid((hour - 8.0) / 0.6) * _sigmoid((18.5 - hour) / 0.9)
    return day * (1 - 0.3 * math.exp(-(((hour - 12.75) / 0.6) ** 2)))


def rate(i: int, night: float, peak: float, weekend: float = 0.35) -> float:
    minute = i % PER_DAY
    weekday = (i // PER_DAY) % 7
    level = night + (peak - night) * business_curve(minute / 60)
    return level * (weekend if weekday >= 5 else 1.0)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def traffic(
    rng: random.Random, days: int, night: float, peak: float, scale: list[float] | None = None
) -> list[int]:
    """Counts per minute: Poisson around a rate that wanders +-10% over tens of minutes."""
    out = []
    wander = 0.0
    for i in range(days * PER_DAY):
        wander = 0.97 * wander + rng.gauss(0, 0.025)
        lam = rate(i, night, peak) * math.exp(wander) * (scale[i] if scale else 1.0)
        out.append(_poisson(rng, lam))
    return out


def at(day: int, hour: int, minute: int) -> int:
    return day * PER_DAY + hour * 60 + minute


# (day, hour, minute, how the 100 calls split across consecutive minutes)
BURSTS = [
    (0, 3, 0, (100,)),  # three hours into the series: little history
    (1, 10, 30, (100,)),  # peak of a weekday
    (2, 2, 15, (50, 50)),  # night
    (3, 13, 5, (30, 70)),  # lunch dip, across a minute boundary
    (4, 8, 20, (100,)),  # while the morning ramps up
    (5, 18, 40, (60, 40)),  # Saturday evening
    (6, 12, 0, (100,)),  # Sunday noon
    (7, 17, 55, (50, 50)),  # end of a weekday
]


def _with_bursts(values: list[int]) -> tuple[list[int], list[Event]]:
    events = []
    for day, hour, minute, split in BURSTS:
        first = at(day, hour, minute)
        for offset, extra in enumerate(split):
            values[first + offset] += extra
        events.append(Event("burst", first, first + len(split)))
    return values, events


def baseline(seed: int = 1) -> Labelled:
    rng = random.Random(seed)
    return Labelled(
        "baseline",
        "21 days of detokenize successes: daily and weekly pattern, noise, nothing else",
        traffic(rng, 21, night=2, peak=30),
    )


def read_loop(seed: int = 2) -> Labelled:
    rng = random.Random(seed)
    values, events = _with_bursts(traffic(rng, 8, night=2, peak=30))
    return Labelled(
        "read-loop",
        "8 days of detokenize successes with the seed's read loop (100 reads of one token) 8 times",
        values,
        events,
    )


def enumeration(seed: int = 3) -> Labelled:
    rng = random.Random(seed)
    values, events = _with_bursts(traffic(rng, 8, night=0.02, peak=0.3))
    return Labelled(
        "enumeration",
        "8 days of detokenize failures (a few typos a day) with 100 lookups of unknown tokens 8 times",
        values,
        events,
    )


def ramp(seed: int = 4) -> Labelled:
    """A scraper that warms up slowly: 0 to +60 reads a minute over three hours, then stops."""
    rng = random.Random(seed)
    values = traffic(rng, 6, night=2, peak=30)
    events = []
    for day, hour in ((2, 9), (4, 20)):
        first = at(day, hour, 0)
        length = 180
        for k in range(length):
            values[first + k] += _poisson(rng, 60 * k / length)
        events.append(Event("ramp", first, first + length))
    return Labelled(
        "slow-ramp",
        "6 days of detokenize successes; twice a scraper ramps from 0 to +60 reads/min over 3 hours",
        values,
        events,
    )


def level_shift(seed: int = 5) -> Labelled:
    """Traffic triples for good (a big new client); the first hour is the news."""
    days, shift = 10, at(6, 10, 0)
    scale = [1.0 if i < shift else 3.0 for i in range(days * PER_DAY)]
    rng = random.Random(seed)
    return Labelled(
        "level-shift",
        "10 days of detokenize successes; traffic triples for good on day 7 at 10:00",
        traffic(rng, days, night=2, peak=30, scale=scale),
        [Event("shift", shift, shift + 60)],
    )


def holiday(seed: int = 6) -> Labelled:
    """Two weekday holidays at weekend levels: normal traffic, so any flag is false."""
    days = 21
    quiet = {9, 16}  # Wednesdays: one with the daily reference, one with the weekly
    scale = [0.35 if i // PER_DAY in quiet else 1.0 for i in range(days * PER_DAY)]
    rng = random.Random(seed)
    return Labelled(
        "quiet-holiday",
        "21 days of detokenize successes with two weekday holidays at weekend levels",
        traffic(rng, days, night=2, peak=30, scale=scale),
    )


def all_series() -> list[Labelled]:
    return [baseline(), read_loop(), enumeration(), ramp(), level_shift(), holiday()]


MERGE = 5  # flagged points this close together are one alarm (the alert suppression)


@dataclass(frozen=True)
class Score:
    name: str
    days: float
    events: int
    found: int
    flagged: int
    true_points: int
    false_points: int
    false_alarms: int  # runs of false points, merged when <= MERGE periods apart
    delays: list[int]  # periods from each found event's start to its first flag

    @property
    def recall(self) -> float:
        return self.found / self.events if self.events else 1.0

    @property
    def precision(self) -> float:
        return self.true_points / self.flagged if self.flagged else 1.0

    @property
    def false_alarms_per_day(self) -> float:
        return self.false_alarms / self.days

    @property
    def false_points_per_day(self) -> float:
        return self.false_points / self.days


def score(series: Labelled, flags: list[bool]) -> Score:
    """Points inside a labelled window are true; the MERGE points after one are
    its aftermath (the drop when an attack stops) and count neither way."""
    assert len(flags) == len(series.values)
    labels = series.labels()
    aftermath = [False] * len(flags)
    for event in series.events:
        for i in range(event.end, min(event.end + MERGE, len(flags))):
            aftermath[i] = not labels[i]
    true_points = sum(1 for f, lab in zip(flags, labels, strict=True) if f and lab)
    false_idx = [i for i, f in enumerate(flags) if f and not labels[i] and not aftermath[i]]
    alarms, last = 0, None
    for i in false_idx:
        if last is None or i - last > MERGE:
            alarms += 1
        last = i
    delays = []
    for event in series.events:
        hits = [i for i in range(event.start, event.end) if flags[i]]
        if hits:
            delays.append(hits[0] - event.start)
    return Score(
        name=series.name,
        days=series.days,
        events=len(series.events),
        found=len(delays),
        flagged=true_points + len(false_idx),
        true_points=true_points,
        false_points=len(false_idx),
        false_alarms=alarms,
        delays=delays,
    )
