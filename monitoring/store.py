"""Local metric store (METRICS_SINK=db): filled in by the monitoring work."""

from __future__ import annotations


def save_event(operation: str, outcome: str, seconds: float) -> None:
    return None
