"""What per-caller metrics add to a request: AWS calls, time, bytes (a `make bench` section).

Per-caller counts ride in the EMF line each operation already writes to stdout
(a second directive in the same JSON object), so they add no AWS call: the
figures below count the calls with and without them, and time the same N
direct detokenize calls both ways, interleaved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from bench import awscalls
from bench.figures import Figure, Section, per_op_seconds
from bench.inprocess import SEED_DATA, Bench, quiet_stdout


@contextmanager
def without_callers() -> Iterator[None]:
    """Metrics as before per-caller counts: no actor reaches the metric line."""
    from monitoring import metrics

    real = metrics.caller_of
    metrics.caller_of = lambda actor: ""  # type: ignore[assignment]
    try:
        yield
    finally:
        metrics.caller_of = real  # type: ignore[assignment]


def caller_metrics(b: Bench) -> Section:
    from monitoring import metrics
    from tokens import vault
    from tokens.actors import Actor

    actor = Actor("api_client", "client:1", "bench", b.actor.permissions)
    with quiet_stdout():
        made = [vault.tokenize(actor, b.ctx, SEED_DATA).token_id for _ in range(b.n + 1)]
        vault.detokenize(actor, b.ctx, made[0])  # warm
        calls: dict[str, float] = {}
        for label in ("with", "without"):
            context: Any = without_callers() if label == "without" else nullcontext()
            with context, awscalls.counting() as counted:
                for token in made[1:]:
                    vault.detokenize(actor, b.ctx, token)
            calls[label] = (counted.service("dynamodb") + counted.service("kms")
                            + counted.service("cloudwatch") + counted.service("logs")) / b.n  # fmt: skip

        def plain(i: int) -> Any:
            with without_callers():
                return vault.detokenize(actor, b.ctx, made[1 + i])

        paths: dict[str, Callable[[int], Any]] = {
            "with": lambda i: vault.detokenize(actor, b.ctx, made[1 + i]),
            "without": plain,
        }
        seconds = per_op_seconds(paths, b.n)
    # The EMF line alone, many times: what the second directive costs to build.
    lines = 20000
    started = time.perf_counter()
    for _ in range(lines):
        metrics.emf_line("detokenize", "success", 0.01, 1, "client:1")
    with_line = (time.perf_counter() - started) / lines
    started = time.perf_counter()
    for _ in range(lines):
        metrics.emf_line("detokenize", "success", 0.01, 1, "")
    without_line = (time.perf_counter() - started) / lines
    size_with = len(metrics.emf_line("detokenize", "success", 0.01, 1, "client:1"))
    size_without = len(metrics.emf_line("detokenize", "success", 0.01, 1, ""))
    figures = [
        Figure(
            "AWS calls per detokenize added by per-caller metrics",
            calls["with"] - calls["without"],
            unit="",
            target="≤ 0",
            note=f"{calls['with']:g} with, {calls['without']:g} without; n = {b.n}",
        ),
        Figure(
            "direct detokenize with per-caller metrics vs without",
            seconds["with"] / seconds["without"],
            note="interleaved, same N; read within this machine's noise",
        ),
        Figure("EMF line with the per-caller directive, µs to build", with_line * 1e6, unit="µs"),
        Figure("EMF line without it, µs to build", without_line * 1e6, unit="µs"),
        Figure(
            "bytes added to a reveal's EMF line (log ingestion)", float(size_with - size_without), unit="B"
        ),
    ]
    return figures, []
