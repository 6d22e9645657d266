"""The built-in anomaly detector: an expected band per point, learned from the
series' own history (plain Python, so it runs the same on a laptop and on Lambda).

For each point t, using only points before t:

1. A seasonal reference: with two weeks of history, the same moment in up to
   four previous weeks; with one day, on up to seven previous days (the median
   across them); with less, none. Each past value is a mean of the +-10
   minutes around it, with values far above their median capped first, so a
   burst last week does not leak and small counts are not biased low.
2. A level: how far the last hour ran from its reference (the ratio of sums
   for counts, each point capped near what the hour's median predicts; the
   median difference otherwise). A level shift, a ramp or a quiet holiday moves
   it within half an hour; a burst does not.
3. A spread: the median absolute deviation of past residuals, in units of the
   Poisson noise expected for counts, learned separately for each volume (a
   factor of two apart) over the last day, so a busy afternoon's extra noise
   does not widen the quiet night's band, nor the night's calm narrow the day's.

Rises are judged against the higher of the level-adjusted and the plain
reference (also its highest within +-10 minutes, for traffic that steps up at
a fixed hour); drops against the lower of the level-adjusted reference, its
lowest within +-10 minutes, and the last hour's own mean. So before the
detector has seen a full week, a quiet day (a first weekend, a holiday) is not
news, and neither is the busy morning after it. Counts also get two checks
the band of one point cannot make: the last ten minutes together above what
was expected for them (a slow scrape hides in each minute's noise, not in the
sum), and a run of empty minutes nobody would expect by chance (an outage at a
few calls a minute).

With no history at all there is no band and nothing is flagged.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Params:
    width: float = 4.5  # half-width of the band, in robust standard deviations
    margin: float = 2.0  # extra slack for counts: small counts are lumpy
    level_minutes: int = 60  # how quickly the level follows a change (half of it)
    spread_minutes: int = 360  # history behind the spread estimate while a volume is new
    smooth_minutes: int = 10  # +- window around each seasonal reference point
    max_days: int = 7  # previous days in the daily reference
    max_weeks: int = 4  # previous weeks in the weekly reference
    min_weeks: int = 2  # weeks of history before the weekly reference is used
    relative_floor: float = 0.05  # gauges: the spread is at least this share of the level
    sum_minutes: int = 10  # counts: the window whose sum is checked as well as each point
    sum_width: float = 4.0  # half-width of the band for that sum, in robust standard deviations
    silence: float = 20.0  # counts: empty periods worth this many expected calls are an outage


DEFAULT = Params()


@dataclass(frozen=True)
class Band:
    expected: float | None
    lower: float | None
    upper: float | None
    anomaly: bool

    @property
    def known(self) -> bool:
        return self.upper is not None


UNKNOWN = Band(None, None, None, False)


class _Window:
    """A sliding window of the last `size` slots, with its median in O(log n)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.slots: deque[float | None] = deque()
        self.sorted: list[float] = []

    def push(self, value: float | None) -> None:
        self.slots.append(value)
        if value is not None:
            bisect.insort(self.sorted, value)
        if len(self.slots) > self.size:
            old = self.slots.popleft()
            if old is not None:
                del self.sorted[bisect.bisect_left(self.sorted, old)]

    def __len__(self) -> int:
        return len(self.sorted)

    def median(self) -> float:
        return _median_sorted(self.sorted)


class _TimedWindow:
    """Values pushed at times t, keeping those of the last `span` slots, with their median."""

    def __init__(self, span: int) -> None:
        self.span = span
        self.items: deque[tuple[int, float]] = deque()
        self.sorted: list[float] = []

    def push(self, t: int, value: float) -> None:
        self.items.append((t, value))
        bisect.insort(self.sorted, value)

    def count_at(self, t: int) -> int:
        while self.items and self.items[0][0] <= t - self.span:
            _, old = self.items.popleft()
            del self.sorted[bisect.bisect_left(self.sorted, old)]
        return len(self.sorted)

    def median(self) -> float:
        return _median_sorted(self.sorted)


def _median_sorted(values: Sequence[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


def _median(values: list[float]) -> float:
    return _median_sorted(sorted(values))


class _Series:
    def __init__(self, values: Sequence[float | None], period: int, counts: bool, p: Params) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        self.x = values
        self.p = p
        self.counts = counts
        self.c = 1.0 if counts else 0.0
        minutes = period / 60
        self.level_size = max(6, round(p.level_minutes / minutes))
        self.spread_size = max(24, round(p.spread_minutes / minutes))
        self.smooth = max(0, round(p.smooth_minutes / minutes))
        self.sum_size = round(p.sum_minutes / minutes) if counts else 0
        self.day = DAY // period if DAY % period == 0 else 0
        self.week = 7 * self.day
        self.history = max(self.spread_size, self.day) + self.sum_size + 1  # how far back inputs reach
        # History is counted from the first value, not from the start of the list:
        # leading gaps (a metric that did not exist yet) teach nothing.
        self.origin = next((i for i, v in enumerate(values) if v is not None), len(values))
        self._smoothed: dict[int, float | None] = {}
        self._reference: dict[tuple[int, int], float | None] = {}

    def kind(self, i: int) -> int:
        """The seasonal cycle (in periods) used at index i, or 0 for none yet."""
        age = i - self.origin
        if self.week and age >= self.p.min_weeks * self.week:
            return self.week
        if self.day and age >= self.day:
            return self.day
        return 0

    def smoothed(self, j: int) -> float | None:
        """The mean of the points around j, each capped a few noise units above their
        median: robust to a burst, and not biased low by the skew of small counts
        the way a plain median is."""
        if j not in self._smoothed:
            window = [v for v in self.x[max(0, j - self.smooth) : j + self.smooth + 1] if v is not None]
            if not window:
                self._smoothed[j] = None
            else:
                middle = _median(window)
                cap = middle + 3 * self.noise(middle) + self.c * self.p.margin
                self._smoothed[j] = sum(min(v, cap) for v in window) / len(window)
        return self._smoothed[j]

    def reference(self, i: int, cycle: int) -> float | None:
        if cycle == 0:
            return 0.0
        key = (i, cycle)
        if key not in self._reference:
            most = self.p.max_weeks if cycle == self.week else self.p.max_days
            cycles = min(most, (i - self.origin) // cycle)
            past = [self.smoothed(i - q * cycle) for q in range(1, cycles + 1)]
            known = [v for v in past if v is not None]
            self._reference[key] = _median(known) if known else None
            # The busy side: the second busiest of three or more past cycles, so a
            # quiet day among them (a weekend, a holiday) does not lower it and one
            # attack in them does not raise it.
            known.sort()
            self._reference[(i, -cycle)] = known[-2] if len(known) >= 3 else self._reference[key]
        return self._reference[key]

    def reference_high(self, i: int, cycle: int) -> float | None:
        if cycle == 0:
            return 0.0
        self.reference(i, cycle)
        return self._reference[(i, -cycle)]

    def reference_range(self, i: int, cycle: int) -> tuple[float, float] | None:
        """The lowest and highest reference within +-smooth of i: traffic that steps
        at a fixed hour steps a few minutes earlier or later each day."""
        if cycle == 0:
            return None
        span = range(i - self.smooth, i + self.smooth + 1)
        low = [v for v in (self.reference(j, cycle) for j in span) if v is not None]
        high = [v for v in (self.reference_high(j, cycle) for j in span) if v is not None]
        return (min(low), max(high)) if low and high else None

    def departure(self, value: float, ref: float) -> float:
        """How far a value ran from its reference: a ratio for counts, else a difference."""
        if self.counts:
            return (max(value, 0.0) + self.c) / (max(ref, 0.0) + self.c)
        return value - ref

    def scaled(self, ref: float, shift: float) -> float:
        if self.counts:
            return max(0.0, (max(ref, 0.0) + self.c) * shift - self.c)
        return ref + shift

    def noise(self, expected: float) -> float:
        """The unit the spread is measured in: Poisson noise for counts, 1 otherwise."""
        return math.sqrt(max(expected, 0.0) + self.c) if self.counts else 1.0


class _Level:
    """How far the last `level_size` points ran from their reference.

    Counts: the ratio of the window's sum to its reference's sum, each point first
    held within a few noise units of what the window's median ratio predicts, so a
    burst or a short outage does not move it but a lasting change moves it within
    half a window.
    (A mean, not a median: at a few calls a minute the median of Poisson counts
    sits well below their mean.) Gauges: the median difference.
    """

    def __init__(self, s: _Series, cycle: int) -> None:
        self.s = s
        self.cycle = cycle
        self.points: deque[tuple[float, float] | None] = deque()  # (value, reference)
        self.ratios = _Window(s.level_size)

    def push(self, i: int) -> None:
        value = self.s.x[i]
        ref = self.s.reference(i, self.cycle) if i - self.s.origin >= self.cycle else None
        if value is None or ref is None:
            self.points.append(None)
            self.ratios.push(None)
        else:
            self.points.append((value, ref))
            self.ratios.push(self.s.departure(value, ref))
        if len(self.points) > self.s.level_size:
            self.points.popleft()

    def __len__(self) -> int:
        return len(self.ratios)

    def shift(self) -> tuple[float, float]:
        """(the level: a ratio for counts, a difference otherwise; the window's mean,
        bursts capped: what the last window itself says to expect)."""
        s = self.s
        known = [point for point in self.points if point is not None]
        typical = self.ratios.median()
        if not s.counts:
            return typical, sum(v for v, _ in known) / len(known)
        c = s.c
        total = below = ref_total = 0.0
        for value, ref in known:
            predicted = max(0.0, (max(ref, 0.0) + c) * typical - c)
            slack = s.p.width * s.noise(predicted) + s.p.margin
            capped = min(max(value, 0.0), predicted + slack)
            below += capped
            total += max(capped, predicted - slack)
            ref_total += max(ref, 0.0)
        m = len(known)
        return (total + c * m) / (ref_total + c * m), below / m


class _Spread:
    """Robust spread of past residuals (in noise units), per volume class over the
    last day, falling back to all residuals of the last `spread_size` points while a
    volume class has too few of its own."""

    MIN_POINTS = 60

    def __init__(self, s: _Series) -> None:
        self.s = s
        self.recent = _Window(s.spread_size)
        self.by_volume: dict[int, _TimedWindow] = {}
        self.span = s.day or s.spread_size

    def _class(self, expected: float) -> int:
        return int(math.log2(max(expected, 0.0) + 1.0)) if self.s.counts else 0

    def push(self, t: int, expected: float | None, value: float | None, near: tuple[float, float]) -> None:
        """`near`: the expected values within +-smooth; a value between them is no surprise
        (traffic that steps at about a fixed hour)."""
        if expected is None or value is None:
            self.recent.push(None)
            return
        self.push_residual(t, expected, (value - expected) / self.s.noise(expected))

    def push_residual(self, t: int, expected: float, residual: float) -> None:
        # An outlier counts as lying at the band's edge: a burst or an outage cannot
        # widen the band by more than that, however far out it was.
        residual = min(abs(residual), self.s.p.width) if self.s.counts else abs(residual)
        self.recent.push(residual)
        key = self._class(expected)
        if key not in self.by_volume:
            self.by_volume[key] = _TimedWindow(self.span)
        self.by_volume[key].push(t, residual)

    def sigma(self, t: int, expected: float) -> float:
        window = self.by_volume.get(self._class(expected))
        if window is not None and window.count_at(t) >= self.MIN_POINTS:
            return MAD_TO_SIGMA * window.median()
        return MAD_TO_SIGMA * self.recent.median() if len(self.recent) else 0.0


@dataclass(frozen=True)
class _Point:
    """What the checks over several points need to remember of one point."""

    value: float  # a point flagged on its own counts as expected: it is not news twice
    high: float
    expected: float
    noise: float  # Poisson noise at `high`
    low: float
    near: tuple[float, float]  # the expected value's range within +-smooth


def bands(
    values: Sequence[float | None],
    period: int,
    *,
    counts: bool = True,
    start: int = 0,
    params: Params = DEFAULT,
) -> list[Band]:
    """The band for each of values[start:], each learned only from the points before it.

    `values` is one value per period (None where missing); `period` is in seconds.
    `start` skips work for points the caller will not look at: the result for a
    point does not depend on it.
    """
    s = _Series(values, period, counts, params)
    n = len(values)
    begin = max(0, min(start, n) - s.history)
    spread = _Spread(s)
    sums = _Spread(s)  # the same, for the sums of `sum_size` points
    cycle = -1
    level = _Level(s, 0)
    recent: deque[_Point | None] = deque(maxlen=max(1, s.sum_size))
    silence = 0.0  # calls expected over the current run of empty periods
    out: list[Band] = []
    for t in range(begin, n):
        kind = s.kind(t)
        if kind != cycle:
            cycle = kind
            level = _Level(s, cycle)
            for i in range(max(0, t - s.level_size), t):
                level.push(i)
        band, point = _band_at(s, t, cycle, level, spread)
        value = values[t]
        if point is not None and value is not None:
            if value > 0:
                silence = 0.0
            elif point.low >= 1.0:  # below a call a period, empty periods are common
                silence += point.low
        recent.append(point)
        if counts and band.known and not band.anomaly:
            if silence >= params.silence:
                band = Band(band.expected, 1.0, band.upper, True)  # an outage: calls were due
            elif s.sum_size >= 2 and _sum_too_high(t, recent, sums, params):
                band = Band(band.expected, band.lower, band.upper, True)
        if t >= start:
            out.append(band)
        spread.push(t, band.expected, value, (point.near if point else (band.expected or 0.0,) * 2))
        level.push(t)
    return out


def _sum_too_high(t: int, recent: deque[_Point | None], sums: _Spread, p: Params) -> bool:
    """Whether the last `sum_size` points together ran above their band, learning the
    spread of such sums as it goes (neighbouring minutes drift together, so a sum
    varies more than independent noise would)."""
    points = [point for point in recent if point is not None]
    if len(points) < len(recent):
        return False
    total = sum(point.value for point in points)
    expected = sum(point.expected for point in points)
    high = sum(point.high for point in points)
    noise = math.sqrt(sum(point.noise**2 for point in points))
    sigma = max(sums.sigma(t, expected), 1.0)
    sums.push_residual(t, expected, (total - expected) / noise)
    return total > high + p.sum_width * sigma * noise + p.margin


def _band_at(s: _Series, t: int, cycle: int, level: _Level, spread: _Spread) -> tuple[Band, _Point | None]:
    if not len(level):
        return UNKNOWN, None
    ref = s.reference(t, cycle)
    if ref is None:
        return UNKNOWN, None
    shift, recent = level.shift()
    p = s.p
    expected = s.scaled(ref, shift)
    # Little history: widen, so that a handful of points cannot make a tight band.
    widen = 1.0 + 3.0 / len(level) if len(level) < s.level_size else 1.0
    value = s.x[t]
    if s.counts:
        lowest, highest = s.reference_range(t, cycle) or (ref, ref)
        high = max(s.scaled(highest, shift), highest)
        low = min(s.scaled(lowest, shift), recent)
        sd_high = max(spread.sigma(t, high), 1.0) * s.noise(high)  # never tighter than Poisson
        sd_low = max(spread.sigma(t, low), 1.0) * s.noise(low)
        upper = high + p.width * widen * sd_high + p.margin
        lower = max(0.0, low - p.width * widen * sd_low - p.margin)
        anomaly = value is not None and (value > upper or value < lower)
        point = None
        if value is not None:
            near = (s.scaled(lowest, shift), s.scaled(highest, shift))
            point = _Point(high if anomaly else value, high, expected, widen * s.noise(high), low, near)
        return Band(expected, lower, upper, anomaly), point
    sigma = max(spread.sigma(t, expected), p.relative_floor * abs(expected), 1e-9)
    half = p.width * widen * sigma
    anomaly = value is not None and (value > expected + half or value < expected - half)
    return Band(expected, expected - half, expected + half, anomaly), None
