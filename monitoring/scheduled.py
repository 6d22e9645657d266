"""Entry points for scheduled events (Zappa `events`), e.g.

"events": [{"function": "monitoring.scheduled.check_anomalies", "expression": "rate(1 minute)"}]
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command


def check_anomalies(event: Any = None, context: Any = None) -> None:
    call_command("check_anomalies")
