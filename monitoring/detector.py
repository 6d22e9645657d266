"""The built-in anomaly detector: an expected band per point, learned from the
series' own history (plain Python, so it runs the same on a laptop and on Lambda).

For each point t, using only points before t:

1. A seasonal reference: with two weeks of history, the median of the same
   moment in up to four previous weeks; with one day, of the same moment on up
   to seven previous days; with less, none. Each of those past values is itself
   a median of the +-10 minutes around it, so a burst last week does not leak.
2. A level: the median, over the last hour, of how far the series ran from its
   reference (a ratio for counts, a difference otherwise). A level shift, a ramp
   or a quiet holiday moves the level within half an hour; a burst does not.
3. A spread: the median absolute deviation of the last six hours of residuals.
   For counts the residuals are scaled by the Poisson noise expected at that
   level, and the spread never goes below it, so a flat series of 1/minute still
   gets a sensible band.

The band is expected +- width x spread (+ a small margin for counts), widened
while history is short. With no history at all there is no band and nothing
is flagged.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Params:
    width: float = 4.0  # half-width of the band, in robust standard deviations
    margin: float = 2.0  # extra slack for counts: small counts are lumpy
    level_minutes: int = 60  # how quickly the level follows a change (half of it)
    spread_minutes: int = 360  # history behind the spread estimate
    smooth_minutes: int = 10  # +- window around each seasonal reference point
    max_days: int = 7  # previous days in the daily reference
    max_weeks: int = 4  # previous weeks in the weekly reference
    min_weeks: int = 2  # weeks of history before the weekly reference is used
    relative_floor: float = 0.05  # gauges: the spread is at least this share of the level


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
        self.slots: list[float | None] = []
        self.sorted: list[float] = []

    def push(self, value: float | None) -> None:
        self.slots.append(value)
        if value is not None:
            bisect.insort(self.sorted, value)
        if len(self.slots) > self.size:
            old = self.slots.pop(0)
            if old is not None:
                del self.sorted[bisect.bisect_left(self.sorted, old)]

    def __len__(self) -> int:
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
        self.day = DAY // period if DAY % period == 0 else 0
        self.week = 7 * self.day
        # History is counted from the first value, not from the start of the list:
        # leading gaps (a metric that did not exist yet) teach nothing.
        self.origin = next((i for i, v in enumerate(values) if v is not None), len(values))
        self._smoothed: dict[int, float | None] = {}
        self._ratio: dict[tuple[int, int], float | None] = {}

    def kind(self, i: int) -> int:
        """The seasonal cycle (in periods) used at index i, or 0 for none yet."""
        age = i - self.origin
        if self.week and age >= self.p.min_weeks * self.week:
            return self.week
        if self.day and age >= self.day:
            return self.day
        return 0

    def smoothed(self, j: int) -> float | None:
        if j not in self._smoothed:
            window = [v for v in self.x[max(0, j - self.smooth) : j + self.smooth + 1] if v is not None]
            self._smoothed[j] = _median(window) if window else None
        return self._smoothed[j]

    def reference(self, i: int, cycle: int) -> float | None:
        if cycle == 0:
            return 0.0
        most = self.p.max_weeks if cycle == self.week else self.p.max_days
        cycles = min(most, (i - self.origin) // cycle)
        past = [self.smoothed(i - q * cycle) for q in range(1, cycles + 1)]
        known = [v for v in past if v is not None]
        return _median(known) if known else None

    def departure(self, i: int, cycle: int) -> float | None:
        """How far point i ran from its reference: a ratio for counts, else a difference."""
        key = (cycle, i)
        if key not in self._ratio:
            value = self.x[i]
            ref = self.reference(i, cycle) if i - self.origin >= cycle else None
            if value is None or ref is None:
                self._ratio[key] = None
            elif self.counts:
                self._ratio[key] = (max(value, 0.0) + self.c) / (max(ref, 0.0) + self.c)
            else:
                self._ratio[key] = value - ref
        return self._ratio[key]

    def noise(self, expected: float) -> float:
        """The unit the spread is measured in: Poisson noise for counts, 1 otherwise."""
        return math.sqrt(max(expected, 0.0) + self.c) if self.counts else 1.0


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
    begin = max(0, min(start, n) - s.spread_size)
    level = _Window(s.level_size)
    spread = _Window(s.spread_size)
    cycle = -1
    out: list[Band] = []
    for t in range(begin, n):
        kind = s.kind(t)
        if kind != cycle:
            cycle = kind
            level = _Window(s.level_size)
            for i in range(max(0, t - s.level_size), t):
                level.push(s.departure(i, cycle))
        band = _band_at(s, t, cycle, level, spread)
        if t >= start:
            out.append(band)
        value = values[t]
        if value is not None and band.expected is not None:
            spread.push(abs(value - band.expected) / s.noise(band.expected))
        else:
            spread.push(None)
        level.push(s.departure(t, cycle))
    return out


def _band_at(s: _Series, t: int, cycle: int, level: _Window, spread: _Window) -> Band:
    if not len(level):
        return UNKNOWN
    ref = s.reference(t, cycle)
    if ref is None:
        return UNKNOWN
    shift = level.median()
    if s.counts:
        expected = max(0.0, (max(ref, 0.0) + s.c) * shift - s.c)
    else:
        expected = ref + shift
    p = s.p
    sigma = MAD_TO_SIGMA * spread.median() if len(spread) else 0.0
    if s.counts:
        sigma = max(sigma, 1.0)  # never tighter than Poisson noise
        margin = p.margin
    else:
        sigma = max(sigma, p.relative_floor * abs(expected), 1e-9)
        margin = 0.0
    # Little history: widen, so that a handful of points cannot make a tight band.
    widen = 1.0 + 3.0 / len(level) if len(level) < s.level_size else 1.0
    half = p.width * widen * sigma * s.noise(expected) + margin
    lower = expected - half
    if s.counts:
        lower = max(0.0, lower)
    upper = expected + half
    value = s.x[t]
    anomaly = value is not None and (value > upper or value < lower)
    return Band(expected, lower, upper, anomaly)
