"""The built-in detector's band: robust, seasonal once it can be, sensible with little history."""

from __future__ import annotations

import random

import pytest

from monitoring.detector import Params, bands
from tests.labelled_traffic import poisson as _poisson

DAY = 1440  # one-minute periods


@pytest.fixture(autouse=True)
def vault_aws() -> None:
    """Pure functions: no AWS emulator needed (overrides the conftest one)."""


def noisy(rng: random.Random, rates: list[float]) -> list[float]:
    return [float(_poisson(rng, lam)) for lam in rates]


def test_with_no_history_there_is_no_band_and_nothing_is_flagged() -> None:
    [band] = bands([100.0], 60)
    assert (band.expected, band.lower, band.upper, band.anomaly) == (None, None, None, False)


def test_one_point_of_history_gives_a_wide_band_that_still_catches_a_burst() -> None:
    quiet, burst = bands([1.0, 3.0], 60)[1], bands([1.0, 100.0], 60)[1]
    assert not quiet.anomaly
    assert burst.anomaly
    assert burst.upper is not None and 15 < burst.upper < 40


def test_the_band_narrows_as_history_grows() -> None:
    widths = [
        b.upper - b.lower for b in bands([5.0] * 120, 60)[1:] if b.upper is not None and b.lower is not None
    ]
    assert widths[0] > widths[10] > widths[-1]


def test_a_steady_one_a_minute_gets_a_poisson_band_not_a_zero_width_one() -> None:
    band = bands([1.0] * 200 + [4.0], 60)[-1]
    assert band.expected == 1.0
    assert band.upper is not None and 4 < band.upper < 12
    assert not band.anomaly
    assert bands([1.0] * 200 + [100.0], 60)[-1].anomaly


def test_on_a_zero_baseline_a_typo_passes_and_an_enumeration_does_not() -> None:
    rng = random.Random(1)
    failures = noisy(rng, [0.05] * 600)
    assert not bands([*failures, 2.0], 60)[-1].anomaly
    assert bands([*failures, 100.0], 60)[-1].anomaly


def test_a_burst_does_not_move_the_band_that_follows_it() -> None:
    rng = random.Random(2)
    before = noisy(rng, [20.0] * 400)
    after = bands([*before, 120.0, 130.0, 20.0], 60)
    plain = bands([*before, 20.0], 60)
    assert after[-3].anomaly and after[-2].anomaly and not after[-1].anomaly
    assert after[-1].upper == pytest.approx(plain[-1].upper, rel=0.1)


def office_hours(days: int, weekend: bool = False) -> list[float]:
    """2/min at night, 40/min from 09:00 to 17:00; weekends (days 5, 6) quiet all day if asked."""
    rates = []
    for i in range(days * DAY):
        day, minute = divmod(i, DAY)
        working = 9 * 60 <= minute < 17 * 60 and not (weekend and day % 7 >= 5)
        rates.append(40.0 if working else 2.0)
    return rates


def test_after_a_day_of_history_the_morning_rush_is_expected() -> None:
    values = noisy(random.Random(3), office_hours(3))
    result = bands(values, 60)
    nine = 9 * 60
    first_morning = [result[nine + k].anomaly for k in range(5)]
    third_morning = [result[2 * DAY + nine + k].anomaly for k in range(5)]
    assert any(first_morning)  # nothing to go on yet: the rush is news
    assert not any(third_morning)
    # The reference is a mean of +-10 minutes, so it reaches the new level once past the step.
    assert result[2 * DAY + nine + 15].expected == pytest.approx(40, rel=0.25)


def test_a_first_quiet_saturday_is_not_news_and_after_two_weeks_it_is_expected() -> None:
    period = 300  # five-minute points keep three weeks small
    per_day = 86400 // period
    rates = []
    for i in range(21 * per_day):
        day, slot = divmod(i, per_day)
        working = 9 * 12 <= slot < 17 * 12 and day % 7 < 5
        rates.append(200.0 if working else 10.0)
    values = noisy(random.Random(4), rates)
    result = bands(values, period)
    saturday_nine = lambda week: (week * 7 + 5) * per_day + 9 * 12 + 2  # noqa: E731
    # Daily reference only: Saturday looks like a dead weekday, but it is as quiet as
    # the night before it, so the detector takes it for a quiet day, not an outage.
    assert not any(b.anomaly for b in result[saturday_nine(1) - 2 : saturday_nine(1) + 120])
    third = result[saturday_nine(2)]
    assert not third.anomaly
    assert third.expected is not None and third.expected < 30


def test_a_level_shift_is_flagged_then_learned_within_the_hour() -> None:
    rng = random.Random(5)
    values = noisy(rng, [20.0] * 600) + noisy(rng, [60.0] * 120)
    result = bands(values, 60)
    assert result[600].anomaly
    assert not any(b.anomaly for b in result[660:])


def test_the_result_for_a_point_does_not_depend_on_where_evaluation_starts() -> None:
    values = noisy(random.Random(6), office_hours(4))
    full = bands(values, 60)
    for start in (1, 700, DAY + 3, len(values) - 60):
        assert bands(values, 60, start=start) == full[start:]


def test_gaps_are_skipped_and_leading_gaps_are_not_history() -> None:
    values: list[float | None] = [None] * 3 * DAY + [5.0, 6.0, None, 5.0, 100.0]
    result = bands(values, 60)
    assert not result[3 * DAY].known
    assert not result[3 * DAY + 2].anomaly
    assert result[-1].anomaly
    assert result[-1].upper is not None and result[-1].upper > 12  # still widened: 3 points of history


def test_gauges_get_a_band_without_a_poisson_floor_and_may_go_negative() -> None:
    rng = random.Random(7)
    values = [rng.gauss(-50.0, 2.0) for _ in range(300)]
    steady = bands([*values, -49.0], 60, counts=False)[-1]
    assert not steady.anomaly
    assert steady.lower is not None and steady.lower < -50 < steady.upper < -38  # type: ignore[operator]
    assert bands([*values, -20.0], 60, counts=False)[-1].anomaly


def test_a_wider_band_flags_less() -> None:
    values = noisy(random.Random(8), office_hours(2))
    narrow = sum(b.anomaly for b in bands(values, 60, params=Params(width=2.0)))
    wide = sum(b.anomaly for b in bands(values, 60, params=Params(width=6.0)))
    assert narrow > wide
