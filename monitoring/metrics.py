"""Operation metrics: one call per vault operation, never on the request path's
critical section (a sink failure is logged and swallowed, it never fails a request).

Dimensions are bounded: operation, outcome and region; and, for two per-caller
counts only (records revealed, tokens not found), region and the caller's id
(`client:7`, `user:3`: never a name, a token id or a value).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from tokens.actors import Actor

log = logging.getLogger(__name__)

NAMESPACE = "Tokenizer"
OPERATIONS = ("tokenize", "detokenize", "metadata", "change_expiry", "delete", "search", "list_tokens")
OUTCOMES = ("success", "not_found", "denied", "invalid", "integrity_failure", "error")

# Per caller, two counts and no more (each caller adds one CloudWatch series per
# count and region): records revealed, and lookups of tokens that do not exist.
CALLER_METRICS = {"reads": "CallerReads", "not_found": "CallerNotFound"}
# Who is counted per caller: API clients and operators, by their numeric id only.
CALLER_ID = re.compile(r"^(client|user):[0-9]{1,12}$")
_CALLER_KINDS = {"api_client": "client:", "operator": "user:"}


def caller_of(actor: Actor | None) -> str:
    """The caller's id as a metric dimension, or "" when it is not counted per caller."""
    if actor is None:
        return ""
    prefix = _CALLER_KINDS.get(actor.kind)
    if prefix is None or not actor.id.startswith(prefix) or not CALLER_ID.match(actor.id):
        return ""
    return actor.id


def caller_metric(operation: str, outcome: str) -> str:
    """Which per-caller count an operation adds to: "reads", "not_found" or "" (none)."""
    if outcome == "not_found" and operation in ("detokenize", "metadata", "change_expiry", "delete"):
        return "not_found"
    if operation == "detokenize" and outcome == "success":
        return "reads"
    return ""


def emf_line(operation: str, outcome: str, seconds: float, timestamp_ms: int, caller: str = "") -> str:
    """A CloudWatch Embedded Metric Format record for one operation.

    With a caller whose call counts per caller, the same line carries a second
    directive: that count, with the dimensions region and caller only.
    """
    directives: list[dict[str, object]] = [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["Operation", "Outcome", "Region"]],
            "Metrics": [
                {"Name": "Count", "Unit": "Count"},
                {"Name": "Latency", "Unit": "Milliseconds"},
            ],
        }
    ]
    record: dict[str, object] = {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives},
        "Operation": operation,
        "Outcome": outcome,
        "Region": settings.VAULT_REGION_CODE,
        "Count": 1,
        "Latency": round(seconds * 1000, 3),
    }
    which = caller_metric(operation, outcome) if caller else ""
    if which:
        name = CALLER_METRICS[which]
        directives.append(
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["Region", "Caller"]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }
        )
        record["Caller"] = caller
        record[name] = 1
    return json.dumps(record, separators=(",", ":"))


def record(operation: str, outcome: str, seconds: float, actor: Actor | None = None) -> None:
    """Count one operation; with its actor, also in that caller's own counts (see CALLER_METRICS)."""
    if operation not in OPERATIONS or outcome not in OUTCOMES:
        log.error("metric with unknown operation or outcome dropped")
        return
    try:
        caller = caller_of(actor)
        if settings.METRICS_SINK == "emf":
            line = emf_line(operation, outcome, seconds, int(time.time() * 1000), caller)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif settings.METRICS_SINK == "db":
            from monitoring.store import save_caller_event, save_event

            save_event(operation, outcome, seconds)
            which = caller_metric(operation, outcome) if caller else ""
            if which:
                save_caller_event(caller, which)
    except Exception:
        log.exception("metric not recorded")
