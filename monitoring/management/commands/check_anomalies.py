from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring import alerts, app_settings, aws, sources, store
from monitoring import honeytokens as honeytoken_alerts


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Command(BaseCommand):
    help = (
        "Alert (SNS) on every use of a honeytoken, naming the caller, when detokenize "
        "successes or failures, or search volume, of the last few minutes left the band, "
        "and when one API client or operator left its own (see docs/monitoring.md, Per caller). "
        "Run it every minute (a Zappa schedule event: monitoring.scheduled.check_anomalies)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", default="", help="vault region code (default: this process's)")

    def handle(self, *args: Any, **options: Any) -> None:
        region = options["region"] or settings.VAULT_REGION_CODE
        # Honeytokens first: any use of a decoy is an alert, no band needed.
        for alert in honeytoken_alerts.check(region):
            self.stdout.write(alert.line())
        started = time.time()
        findings = alerts.check(region, started)
        for f in findings:
            self.stdout.write(
                f"{f.region} {f.key}: {f.value:g} {f.direction} band {f.lower:.1f}-{f.upper:.1f} "
                f"in the minute from {iso(f.minute)} ({f.note})"
            )
        if not findings:
            # Only finished minutes are judged: say which, so a burst in the running one is not
            # taken for "all is well".
            until = sources.judged_until(started)
            first = until - 60 * int(app_settings.get("MONITORING_ALERT_LOOKBACK_MINUTES"))
            self.stdout.write(
                f"{region}: every alerting metric is inside its band (or has none yet) in the "
                f"finished minutes {iso(first)} to {iso(until)}; the minute running now is judged "
                "once it ends"
            )
        for c in alerts.check_callers(region):
            self.stdout.write(f"{c.region} caller {c.describe()}; audit {c.audit_url()} ({c.note})")
        now = store.minute_of(started)
        if not aws.deployed() and now % 3600 == 0:  # once an hour is plenty
            days = int(app_settings.get("MONITORING_RETENTION_DAYS"))
            store.prune(now - days * 86400)
