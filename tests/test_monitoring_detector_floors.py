"""The floors the detector must hold on the labelled synthetic series (see docs/monitoring.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests import monitoring_series as ms

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def vault_aws() -> None:
    """Pure functions: no AWS emulator needed (overrides the conftest one)."""


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("monitoring_bench", ROOT / "bench" / "monitoring_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def measured() -> dict[str, tuple[ms.Labelled, ms.Score]]:
    """Every series through the detect_anomalies CSV path, once for the whole module."""
    out = {}
    for series in ms.all_series():
        out[series.name] = (series, ms.score(series, bench.flags(series)))
    return out


@pytest.mark.parametrize("name", ["read-loop", "enumeration"])
def test_every_burst_is_found_in_the_minute_it_happens(
    measured: dict[str, tuple[ms.Labelled, ms.Score]], name: str
) -> None:
    _, score = measured[name]
    assert score.events == 8
    assert score.found == score.events
    assert score.delays == [0] * score.events


@pytest.mark.parametrize(
    "name", ["baseline", "read-loop", "enumeration", "slow-ramp", "level-shift", "quiet-holiday"]
)
def test_normal_traffic_raises_at_most_one_false_alarm_a_day(
    measured: dict[str, tuple[ms.Labelled, ms.Score]], name: str
) -> None:
    _, score = measured[name]
    assert score.false_alarms_per_day <= 1.0


def test_a_level_shift_is_caught_at_once(measured: dict[str, tuple[ms.Labelled, ms.Score]]) -> None:
    _, score = measured["level-shift"]
    assert score.found == 1 and score.delays == [0]


def test_the_figures_in_the_docs_are_what_the_detector_gives_today(
    measured: dict[str, tuple[ms.Labelled, ms.Score]],
) -> None:
    series = [measured[name][0] for name in measured]
    table = bench.main_table(series, [measured[name][1] for name in measured])
    doc = (ROOT / "docs" / "monitoring.md").read_text(encoding="utf-8")
    assert table in doc, "re-run: python bench/monitoring_bench.py --write"
