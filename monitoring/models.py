from __future__ import annotations

from django.db import models


class MetricBucket(models.Model):
    """Operation counts and latency for one minute (METRICS_SINK=db).

    One row per (region, operation, outcome, minute), bumped by a single upsert
    per operation. Dimensions are the bounded ones only: no token id, no caller.
    """

    region = models.CharField(max_length=8)
    operation = models.CharField(max_length=16)
    outcome = models.CharField(max_length=20)
    minute = models.BigIntegerField(help_text="Start of the minute, in Unix seconds (UTC).")
    count = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0.0, help_text="Sum of the latencies, in milliseconds.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "operation", "outcome", "minute"], name="monitoring_bucket_key"
            )
        ]
        indexes = [models.Index(fields=["region", "minute"], name="monitoring_bucket_time")]

    def __str__(self) -> str:
        return f"{self.region} {self.operation}/{self.outcome} @{self.minute}: {self.count}"


class AlertState(models.Model):
    """Per monitored metric and region: when we last alerted, shared by every process."""

    key = models.CharField(max_length=64, unique=True)
    last_sent = models.BigIntegerField(null=True, help_text="Unix seconds of the last alert sent.")
    last_point = models.BigIntegerField(null=True, help_text="The anomalous period that alert was about.")

    def __str__(self) -> str:
        return self.key


class CallerBucket(models.Model):
    """One caller's count of one per-caller metric for one minute (METRICS_SINK=db).

    `caller` is an actor id (client:7, user:3), never a name; `metric` is
    "reads" (records revealed) or "not_found" (lookups of tokens that do not exist).
    """

    region = models.CharField(max_length=8)
    caller = models.CharField(max_length=24)
    metric = models.CharField(max_length=16)
    minute = models.BigIntegerField(help_text="Start of the minute, in Unix seconds (UTC).")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "caller", "metric", "minute"], name="monitoring_caller_bucket_key"
            )
        ]
        indexes = [models.Index(fields=["region", "minute"], name="monitoring_caller_time")]

    def __str__(self) -> str:
        return f"{self.region} {self.caller} {self.metric} @{self.minute}: {self.count}"
