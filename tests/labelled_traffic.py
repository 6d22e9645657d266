"""Labelled traffic for judging the anomaly detector, written before it was tuned.

The generators know nothing of how the detector works: they describe what
traffic to a vault looks like (flat, a daily cycle, office hours with steps
and a lunch dip, calendar weekends, a public holiday, gradual growth), at
volumes from a few calls a minute to hundreds, with Poisson noise and, for
some, extra noise on top (real traffic is burstier than Poisson). Attacks are
sized by what they are (a read loop of N reads, a scrape at R reads a minute
for H hours, an outage of M minutes), not by what the detector can see.

Two sets with different seeds, volumes, start days and attack sizes:
`TUNING` is what the detector's parameters were chosen on; `HELD_OUT` was
never looked at while tuning and is reported separately.

Every series is one value per minute. A labelled window is `required` when
an alert must fire in it (the issue's read loop, enumeration, slow scrape,
night scrape, outage); smaller attacks are labelled but optional, to show
where detection fades. False alarms are counted from the end of the first
day (the detector has seen no daily pattern before that).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

PER_DAY = 1440
# Monday 6 January 2025, 00:00 UTC; series start on various weekdays after it.
MONDAY = datetime(2025, 1, 6, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    kind: str  # read-loop, enumeration, slow-scrape, night-scrape, outage, ramp
    start: int
    end: int  # one past the last labelled minute
    required: bool = True

    @property
    def sustained(self) -> bool:
        return self.end - self.start >= 30


@dataclass
class Series:
    name: str
    kind: str  # the generator, for the per-kind table
    metric: str  # "successes" or "failures"
    values: list[int]
    start: datetime
    windows: list[Window] = field(default_factory=list)
    description: str = ""

    @property
    def days(self) -> float:
        return len(self.values) / PER_DAY

    def timestamp(self, i: int) -> int:
        return int(self.start.timestamp()) + 60 * i


# --- shapes: the expected rate (calls a minute) at minute i ---------------------------------


def _clock(start: datetime, i: int) -> tuple[int, float]:
    """(weekday 0=Monday, hour of day) of minute i of a series starting at `start`."""
    when = start + timedelta(minutes=i)
    return when.weekday(), when.hour + when.minute / 60


def flat(level: float):
    return lambda weekday, hour, day: level


def daily(night: float, peak: float, peak_hour: float = 14.0):
    """A smooth cycle, every day of the week alike (a consumer app)."""

    def rate(weekday: int, hour: float, day: int) -> float:
        phase = math.cos(2 * math.pi * (hour - peak_hour) / 24)
        return night + (peak - night) * (1 + phase) / 2

    return rate


def office(night: float, peak: float, weekend: float, holidays: frozenset[int] = frozenset()):
    """Office hours: steps at 07:30, 08:30 and 09:00, a lunch dip, steps down at 17:00
    and 18:30; weekends and holidays at `weekend` times the weekday level."""

    def rate(weekday: int, hour: float, day: int) -> float:
        if hour < 7.5 or hour >= 18.5:
            share = 0.0
        elif hour < 8.5:
            share = 0.2
        elif hour < 9.0:
            share = 0.6
        elif 12.0 <= hour < 13.0:
            share = 0.55
        elif hour >= 17.0:
            share = 0.35
        else:
            share = 1.0
        level = night + (peak - night) * share
        quiet = weekday >= 5 or day in holidays
        return level * weekend if quiet else level

    return rate


def growing(shape, per_day: float):
    """Any shape, growing by `per_day` (0.05 = 5 % a day) compounded."""
    return lambda weekday, hour, day: shape(weekday, hour, day) * (1 + per_day) ** (day + hour / 24)


# --- noise --------------------------------------------------------------------------------


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def draw(rng: random.Random, start: datetime, days: int, shape, extra_noise: float) -> list[int]:
    """Counts a minute: Poisson around the shape's rate, which wanders slowly (+-5 %),
    and with `extra_noise` > 0 also jitters minute to minute (gamma, that coefficient of variation)."""
    out = []
    wander = 0.0
    for i in range(days * PER_DAY):
        weekday, hour = _clock(start, i)
        wander = 0.98 * wander + rng.gauss(0, 0.01)
        lam = shape(weekday, hour, i // PER_DAY) * math.exp(wander)
        if extra_noise > 0 and lam > 0:
            k = 1 / extra_noise**2
            lam = rng.gammavariate(k, lam / k)
        out.append(poisson(rng, lam))
    return out


# --- attacks ------------------------------------------------------------------------------


def minute_at(start: datetime, day: int, hour: float) -> int:
    """Index of `hour` o'clock on the series' day `day` (0 = the first)."""
    first = start.replace(hour=0, minute=0)
    return round(((first + timedelta(days=day, hours=hour)) - start).total_seconds() / 60)


def add_burst(rng, values, kind, first, total, minutes, required=True) -> Window:
    """`total` extra calls spread over `minutes` consecutive minutes."""
    for k in range(minutes):
        values[first + k] += total // minutes + (1 if k < total % minutes else 0)
    return Window(kind, first, first + minutes, required)


def add_rate(rng, values, kind, first, per_minute, minutes, required=True, ramp=False) -> Window:
    """A scraper reading `per_minute` (Poisson) on top of traffic for `minutes`;
    with `ramp`, it warms up from 0 to that rate."""
    for k in range(minutes):
        lam = per_minute * (k + 1) / minutes if ramp else per_minute
        values[first + k] += poisson(rng, lam)
    return Window(kind, first, first + minutes, required)


def add_outage(values, first, minutes) -> Window:
    for k in range(minutes):
        values[first + k] = 0
    return Window("outage", first, first + minutes, True)


def busy_day(start: datetime, day: int, holidays: frozenset[int]) -> int:
    """The first day >= `day` that is a working day."""
    while (start + timedelta(days=day)).weekday() >= 5 or day in holidays:
        day += 1
    return day


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    shape: object
    peak: float  # the busiest rate, for sizing attacks
    days: int
    seed: int
    start_weekday: int = 0
    extra_noise: float = 0.0
    office_hours: bool = False
    metric: str = "successes"
    holidays: frozenset[int] = frozenset()


def build(spec: Spec) -> Series:
    rng = random.Random(spec.seed)
    start = MONDAY + timedelta(days=spec.start_weekday)
    values = draw(rng, start, spec.days, spec.shape, spec.extra_noise)
    windows: list[Window] = []
    peak = spec.peak
    last = spec.days - 1
    # Attacks are placed at random moments from day 1 on, at least an hour apart.
    taken: list[tuple[int, int]] = []

    def when(minutes: int, hours: tuple[float, float], weekday: bool = False) -> int:
        for _ in range(1000):
            day = rng.randrange(1, spec.days)
            if weekday and spec.office_hours:
                day = busy_day(start, day, spec.holidays)
                if day > last:
                    continue
            first = minute_at(start, day, rng.uniform(*hours))
            if first + minutes > len(values):
                continue
            if all(first + minutes + 60 <= a or b + 60 <= first for a, b in taken):
                taken.append((first, first + minutes))
                return first
        raise AssertionError(f"{spec.name}: no room for another attack")

    if spec.metric == "failures":
        # Enumeration: someone asking for tokens that do not exist.
        for total, minutes in ((100, 1), (300, 5), (1000, 10), (60, 3)):
            first = when(minutes, (0, 23))
            windows.append(add_burst(rng, values, "enumeration", first, total, minutes))
    else:
        # Read loop: one token read over and over, at least the busiest minute's
        # traffic or 100 reads (required); a quarter of the peak is optional.
        for size, minutes in ((max(100, round(peak)), 1), (max(200, round(3 * peak)), 3)):
            first = when(minutes, (0, 23))
            windows.append(add_burst(rng, values, "read-loop", first, size, minutes))
        first = when(1, (0, 23))
        windows.append(add_burst(rng, values, "read-loop", first, max(20, round(peak / 4)), 1, False))
        # Slow scrape: a steady extra reader for hours, as much again as peak traffic
        # (required) or a quarter of it (optional), starting in the working day.
        first = when(180, (9, 14), True)
        windows.append(add_rate(rng, values, "slow-scrape", first, max(5.0, peak), 180))
        first = when(240, (9, 14), True)
        windows.append(add_rate(rng, values, "slow-scrape", first, max(2.0, peak / 4), 240, False))
        first = when(180, (9, 12), True)
        windows.append(add_rate(rng, values, "ramp", first, max(5.0, peak), 180, False, ramp=True))
        if spec.office_hours:
            # Night-time scrape: a fifth of the daytime peak, at 01:00-04:00.
            first = when(120, (1, 2), True)
            windows.append(add_rate(rng, values, "night-scrape", first, max(2.0, peak / 5), 120))
        if peak >= 3:
            # Outage: nothing at all for 20-60 minutes in the busy part of a (week)day.
            minutes = rng.choice((20, 30, 60))
            first = when(minutes, (10, 15.5), True)
            windows.append(add_outage(values, first, minutes))
    windows.sort(key=lambda w: w.start)
    holidays = f", holiday on day {sorted(spec.holidays)}" if spec.holidays else ""
    description = (
        f"{spec.days} days from a {start.strftime('%A')}, peak {spec.peak:g}/min"
        f"{', extra noise ' + format(spec.extra_noise, 'g') if spec.extra_noise else ''}{holidays}"
    )
    return Series(spec.name, spec.kind, spec.metric, values, start, windows, description)


def _specs(seed0: int, volumes: tuple[float, ...], noise: float, weekday0: int) -> list[Spec]:
    """One set: every kind at each volume, one- and three-week lengths alternating."""
    out = []
    n = 0
    for v, peak in enumerate(volumes):
        for kind in ("flat", "daily", "office", "holiday", "growth", "failures"):
            n += 1
            days = 7 if (n + v) % 2 else 21
            seed = seed0 + n
            weekday = (weekday0 + n) % 7
            night = peak / 15
            extra = noise if n % 3 == 0 else 0.0
            if kind == "flat":
                spec = Spec("", kind, flat(peak), peak, days, seed, weekday, extra)
            elif kind == "daily":
                spec = Spec("", kind, daily(night, peak), peak, days, seed, weekday, extra)
            elif kind == "office":
                shape = office(night / 2, peak, weekend=0.15)
                spec = Spec("", kind, shape, peak, days, seed, weekday, extra, office_hours=True)
            elif kind == "holiday":
                # A public holiday on the first weekday of the series' second week.
                start = MONDAY + timedelta(days=weekday)
                hol = next(d for d in range(7, 14) if (start + timedelta(days=d)).weekday() < 5)
                hol = min(hol, days - 2)
                shape = office(night / 2, peak, weekend=0.3, holidays=frozenset({hol}))
                spec = Spec(
                    "", kind, shape, peak, days, seed, weekday, extra, office_hours=True,
                    holidays=frozenset({hol}),
                )  # fmt: skip
            elif kind == "growth":
                shape = growing(office(night / 2, peak / 2, weekend=0.3), 0.05 if days > 7 else 0.1)
                spec = Spec("", kind, shape, peak, days, seed, weekday, extra, office_hours=True)
            else:
                rate = max(0.05, peak / 100)
                shape = office(rate / 5, rate, weekend=0.2)
                spec = Spec("", kind, shape, rate, days, seed, weekday, extra, True, "failures")
            name = f"{kind}-{peak:g}-{days}d-s{seed}"
            out.append(replace(spec, name=name))
    return out


TUNING_SPECS = _specs(seed0=100, volumes=(3, 30, 300), noise=0.2, weekday0=0)
HELD_OUT_SPECS = _specs(seed0=900, volumes=(6, 120), noise=0.3, weekday0=3)


def tuning() -> list[Series]:
    return [build(s) for s in TUNING_SPECS]


def held_out() -> list[Series]:
    return [build(s) for s in HELD_OUT_SPECS]


def as_csv_rows(series: Series) -> list[str]:
    out = []
    for i, value in enumerate(series.values):
        when = datetime.fromtimestamp(series.timestamp(i), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f"{when},{value}")
    return out


@dataclass(frozen=True)
class Score:
    name: str
    kind: str
    days: float
    required: int
    found: int  # required windows with a flag inside
    optional: int
    optional_found: int
    delays: list[int]  # minutes from each found required window's start to its first flag
    false_alarms: int  # after the first day, runs of flags outside windows merged <= MERGE apart
    counted_days: float

    @property
    def per_day(self) -> float:
        return self.false_alarms / self.counted_days if self.counted_days else 0.0


MERGE = 5  # flags this close together are one alarm (the alert suppression)


def score(series: Series, flags: list[bool]) -> Score:
    """A window is found if any minute in it is flagged. After an attack ends, the
    detector may flag the drop back: 5 minutes after a burst, 60 after a sustained
    attack (its level had followed the attack up) count neither way."""
    assert len(flags) == len(series.values)
    inside = [False] * len(flags)
    for w in series.windows:
        after = 60 if w.sustained else MERGE
        for i in range(w.start, min(len(flags), w.end + after)):
            inside[i] = True
    alarms, last = 0, None
    for i in range(PER_DAY, len(flags)):
        if flags[i] and not inside[i]:
            if last is None or i - last > MERGE:
                alarms += 1
            last = i
    found = optional_found = 0
    delays = []
    for w in series.windows:
        hits = [i for i in range(w.start, w.end) if flags[i]]
        if w.required and hits:
            found += 1
            delays.append(hits[0] - w.start)
        elif hits:
            optional_found += 1
    return Score(
        series.name,
        series.kind,
        series.days,
        sum(w.required for w in series.windows),
        found,
        sum(not w.required for w in series.windows),
        optional_found,
        delays,
        alarms,
        series.days - 1,
    )
