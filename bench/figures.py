"""Figures with their targets, and the timing helpers every section shares."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Figure:
    """One line of the report: a measured value, and the target it must meet (if any)."""

    name: str
    value: float | None
    unit: str = "×"
    target: str = ""  # e.g. "≥ 6", "≤ 1.15"; empty: reported, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        if not self.target:
            return ""
        if self.value is None:
            return "MISS"
        op, bound = self.target.split()
        ok = self.value >= float(bound) if op == "≥" else self.value <= float(bound)
        return "PASS" if ok else "MISS"

    def shown(self) -> str:
        if self.value is None:
            return "—"
        digits = 4 if abs(self.value) < 0.01 and self.value else 2
        return f"{self.value:.{digits}f}{self.unit if self.unit == '×' else ' ' + self.unit}".rstrip()


# What a section gives: its figures, and any further text (tables) to print after them.
Section = tuple[list["Figure"], list[str]]


def table(figures: Sequence[Figure]) -> str:
    lines = ["| figure | measured | target | result |", "|---|---:|---:|---|"]
    for f in figures:
        target = f"{f.target}{f.unit if f.unit == '×' else ' ' + f.unit}" if f.target else ""
        note = f" ({f.note})" if f.note else ""
        lines.append(f"| {f.name}{note} | {f.shown()} | {target} | {f.verdict} |")
    return "\n".join(lines)


def per_op_seconds(paths: dict[str, Callable[[int], Any]], n: int, rounds: int = 3) -> dict[str, float]:
    """Mean wall seconds per call of each path (see `per_op_costs`)."""
    return per_op_costs(paths, n, rounds)[0]


def per_op_costs(
    paths: dict[str, Callable[[int], Any]],
    n: int,
    rounds: int = 3,
    excluded: Callable[[], float] = lambda: 0.0,
) -> tuple[dict[str, float], dict[str, float]]:
    """Mean seconds per call of each path: wall time, and CPU time less `excluded`.

    The paths run in interleaved rounds of n/rounds calls. Interleaving spreads
    the machine's noise (other processes, CPU frequency) over every path alike,
    so the ratios between paths hold better than the absolute times; the order
    of the paths turns each round, so none always runs first or last (against
    moto, later calls find more items and cost more). Each path gets its own
    index range 0..n-1. `excluded` is a clock of CPU time to leave out of the
    second figure, for example the emulator's (`bench.emulator.cpu_seconds`).
    """
    wall = dict.fromkeys(paths, 0.0)
    own = dict.fromkeys(paths, 0.0)
    done = dict.fromkeys(paths, 0)
    bounds = [n * r // rounds for r in range(rounds + 1)]
    names = list(paths)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            gc.collect()
            left_out, cpu, started = excluded(), time.process_time(), time.perf_counter()
            for i in range(bounds[r], bounds[r + 1]):
                paths[name](i)
            wall[name] += time.perf_counter() - started
            own[name] += time.process_time() - cpu - (excluded() - left_out)
            done[name] += bounds[r + 1] - bounds[r]
    per = {name: max(done[name], 1) for name in paths}
    return {k: v / per[k] for k, v in wall.items()}, {k: v / per[k] for k, v in own.items()}
