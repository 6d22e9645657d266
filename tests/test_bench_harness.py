"""`make bench` keeps working: the harness runs end to end with a tiny N.

Nothing here is timed: the figures' values are the bench's business, these
tests only check that every figure is measured and judged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.awscalls import _table_names
from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent


def test_a_figure_meets_an_upper_bound() -> None:
    assert Figure("x", 1.1, target="≤ 1.15").verdict == "PASS"


def test_a_figure_misses_an_upper_bound() -> None:
    assert Figure("x", 1.2, target="≤ 1.15").verdict == "MISS"


def test_a_figure_meets_a_lower_bound() -> None:
    assert Figure("x", 6.0, target="≥ 6").verdict == "PASS"


def test_a_figure_not_measured_is_a_miss() -> None:
    assert Figure("x", None, target="≥ 6").verdict == "MISS"


def test_a_figure_without_target_has_no_verdict() -> None:
    assert Figure("x", 3.0, unit="ms").verdict == ""


def test_dynamodb_calls_are_attributed_to_every_table_they_touch() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "items", "Item": {}}},
            {"Put": {"TableName": "audit", "Item": {}}},
        ]
    }
    assert _table_names(params) == {"items", "audit"}
    assert _table_names({"RequestItems": {"items": {}, "keys": {}}}) == {"items", "keys"}
    assert _table_names({"TableName": "clients", "Key": {}}) == {"clients"}


def test_the_in_process_bench_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "bench/vault_bench.py", "--n", "1", "--only", "throughput,aws_calls"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    measured = {row.split(" | ")[0].lstrip("| ") for row in rows if " | PASS |" in row or " | MISS |" in row}
    for name in (
        "direct vault vs seed per-invocation code, tokenize",
        "JSON API vs direct vault, CPU time per detokenize",
        "DynamoDB calls per change expiry",
        "KMS calls per tokenize",
        "DynamoDB calls per API request for the API key",
    ):
        assert any(row.startswith(name) for row in measured), done.stdout
    assert "| tokenize (direct) | " in done.stdout
