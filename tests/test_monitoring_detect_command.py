"""`manage.py detect_anomalies --input series.csv`: the contract for measuring the detector."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture(autouse=True)
def vault_aws() -> None:
    """No AWS involved (overrides the conftest emulator)."""


def run(path: Path, *extra: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("detect_anomalies", "--input", str(path), *extra, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


def steady_then_burst(first: int = 1_741_000_000, rows: int = 120) -> str:
    lines = ["timestamp,value"]
    for i in range(rows):
        lines.append(f"{first + 60 * i},{100 if i == rows - 1 else 3 + i % 2}")
    return "\n".join(lines) + "\n"


def test_it_prints_one_json_object_per_row_with_the_band(tmp_path: Path) -> None:
    results = run(write(tmp_path, steady_then_burst()))
    assert len(results) == 120
    assert all(set(r) == {"timestamp", "value", "lower", "upper", "anomaly"} for r in results)
    first = {"timestamp": 1_741_000_000, "value": 3, "lower": None, "upper": None, "anomaly": False}
    assert results[0] == first
    last = results[-1]
    assert last["value"] == 100 and last["anomaly"] is True
    assert 0 <= last["lower"] < 3.5 < last["upper"] < 20
    assert not any(r["anomaly"] for r in results[:-1])


def test_iso_8601_timestamps_are_echoed_as_given(tmp_path: Path) -> None:
    text = "timestamp,value\n2025-03-03T00:00:00Z,1\n2025-03-03T00:01:00+00:00,2\n2025-03-03 00:02:00,40.5\n"
    results = run(write(tmp_path, text))
    assert [r["timestamp"] for r in results] == [
        "2025-03-03T00:00:00Z",
        "2025-03-03T00:01:00+00:00",
        "2025-03-03 00:02:00",
    ]
    assert results[2]["value"] == 40.5


def test_a_header_is_optional_and_extra_columns_such_as_labels_are_ignored(tmp_path: Path) -> None:
    with_header = run(write(tmp_path, steady_then_burst()))
    bare = steady_then_burst().split("\n", 1)[1].replace("\n", ",0\n")
    assert run(write(tmp_path, bare)) == with_header


def test_missing_rows_are_gaps_not_zeros(tmp_path: Path) -> None:
    rows = [f"{1_741_000_000 + 60 * i},5" for i in range(60) if i not in (30, 31, 32)]
    results = run(write(tmp_path, "\n".join(rows) + "\n"))
    assert len(results) == 57
    assert not any(r["anomaly"] for r in results)


def test_gauge_mode_bands_measurements_that_may_be_negative(tmp_path: Path) -> None:
    rows = [f"{1_741_000_000 + 60 * i},{-10.0 - (i % 3) * 0.5}" for i in range(100)]
    rows.append(f"{1_741_006_000},-30")
    results = run(write(tmp_path, "\n".join(rows) + "\n"), "--gauge")
    assert results[-1]["anomaly"] is True
    assert results[-1]["upper"] < 0


def test_standard_input_works_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(steady_then_burst()))
    out = io.StringIO()
    call_command("detect_anomalies", "--input", "-", stdout=out)
    assert len(out.getvalue().splitlines()) == 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,value\n1741000000,abc\n", "row 2: not a number: 'abc'"),
        ("timestamp,value\nyesterday,1\n", "row 2: not a timestamp: 'yesterday'"),
        ("timestamp,value\n1741000060,1\n1741000000,1\n1741000120,1\n", "timestamps must increase"),
        ("1741000000\n", "row 1: expected timestamp,value"),
        ("timestamp,value\n1741000000,nan\n", "row 2: not a finite number"),
    ],
)
def test_it_refuses_a_bad_file_and_says_where(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(write(tmp_path, text))


def test_it_says_so_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "absent.csv")
