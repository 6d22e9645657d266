from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring import app_settings, aws


class Command(BaseCommand):
    help = (
        "Create, idempotently and for the region this runs in: the alert SNS topic, CloudWatch "
        "anomaly detectors for detokenize successes and failures and search volume, and anomaly alarms "
        "wired to the topic."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        code = settings.VAULT_REGION_CODE
        region = settings.AWS_REGION
        arn = settings.ALERTS_SNS_TOPIC_ARN
        name = arn.rsplit(":", 1)[-1] if arn else app_settings.get("MONITORING_TOPIC_NAME")
        try:
            topic = aws.ensure_topic(region, name)
            detectors = aws.ensure_detectors(code, region)
            alarms = aws.ensure_alarms(code, region, topic)
        except aws.MonitoringUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"SNS topic: {topic}")
        for key in detectors:
            self.stdout.write(f"anomaly detector: {key} ({code})")
        for alarm in alarms:
            self.stdout.write(f"anomaly alarm: {alarm}")
        if topic != arn:
            self.stdout.write(f"Set ALERTS_SNS_TOPIC_ARN={topic} so the built-in alerts use this topic too.")
