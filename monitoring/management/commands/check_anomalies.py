from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring import alerts, app_settings, aws, store


class Command(BaseCommand):
    help = (
        "Alert (SNS) when detokenize successes or failures, or search volume, of the last few minutes "
        "left the band. "
        "Run it every minute (a Zappa schedule event: monitoring.scheduled.check_anomalies)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region", default="", help="vault region code (default: this process's)")

    def handle(self, *args: Any, **options: Any) -> None:
        region = options["region"] or settings.VAULT_REGION_CODE
        findings = alerts.check(region)
        for f in findings:
            self.stdout.write(
                f"{f.region} {f.key}: {f.value:g} {f.direction} band {f.lower:.1f}-{f.upper:.1f} "
                f"at {f.minute} ({f.note})"
            )
        if not findings:
            self.stdout.write(f"{region}: every alerting metric is inside its band")
        now = store.minute_of(time.time())
        if not aws.deployed() and now % 3600 == 0:  # once an hour is plenty
            days = int(app_settings.get("MONITORING_RETENTION_DAYS"))
            store.prune(now - days * 86400)
