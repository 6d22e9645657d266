"""Operation metrics: one call per vault operation, never on the request path's
critical section (a sink failure is logged and swallowed, it never fails a request).

Dimensions are bounded: operation, outcome and region only.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from django.conf import settings

log = logging.getLogger(__name__)

NAMESPACE = "Tokenizer"
OPERATIONS = ("tokenize", "detokenize", "metadata", "change_expiry", "delete", "search", "list_tokens")
OUTCOMES = ("success", "not_found", "denied", "invalid", "integrity_failure", "error")


def emf_line(operation: str, outcome: str, seconds: float, timestamp_ms: int) -> str:
    """A CloudWatch Embedded Metric Format record for one operation."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Operation", "Outcome", "Region"]],
                        "Metrics": [
                            {"Name": "Count", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                        ],
                    }
                ],
            },
            "Operation": operation,
            "Outcome": outcome,
            "Region": settings.VAULT_REGION_CODE,
            "Count": 1,
            "Latency": round(seconds * 1000, 3),
        },
        separators=(",", ":"),
    )


def record(operation: str, outcome: str, seconds: float) -> None:
    if operation not in OPERATIONS or outcome not in OUTCOMES:
        log.error("metric with unknown operation or outcome dropped")
        return
    try:
        if settings.METRICS_SINK == "emf":
            sys.stdout.write(emf_line(operation, outcome, seconds, int(time.time() * 1000)) + "\n")
            sys.stdout.flush()
        elif settings.METRICS_SINK == "db":
            from monitoring.store import save_event

            save_event(operation, outcome, seconds)
    except Exception:
        log.exception("metric not recorded")
