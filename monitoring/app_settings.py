"""Monitoring tunables, each overridable in Django settings under the same name.

Read lazily, so tests (and a settings change) take effect without a restart.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Minute buckets older than this are deleted by check_anomalies (the detector uses 4 weeks).
    "MONITORING_RETENTION_DAYS": 36,
    # At most one alert per metric and region in this many seconds, across all processes.
    "MONITORING_ALERT_SUPPRESS_SECONDS": 300,
    # check_anomalies looks at this many of the latest complete minutes (a missed run is caught up).
    "MONITORING_ALERT_LOOKBACK_MINUTES": 3,
    # A metric is in ALARM while any of its last this-many periods is outside the band.
    "MONITORING_ALARM_WINDOW": 5,
    # Name of the SNS topic setup_monitoring creates when ALERTS_SNS_TOPIC_ARN is not set.
    "MONITORING_TOPIC_NAME": "token-vault-alerts",
    # On AWS, EMF lines reach CloudWatch metrics a little late: the alert check leaves
    # the newest minutes alone for this long, so a half-ingested minute is not a "drop".
    "MONITORING_CLOUDWATCH_DELAY_SECONDS": 120,
    # Width of CloudWatch's ANOMALY_DETECTION_BAND, in standard deviations.
    "MONITORING_CLOUDWATCH_BAND_WIDTH": 2,
    # check_anomalies alerts on uses of honeytokens this recent (a missed run is caught up).
    "MONITORING_HONEYTOKEN_LOOKBACK_SECONDS": 3600,
    # The monitoring page lists uses of honeytokens this recent, at the top.
    "MONITORING_HONEYTOKEN_SHOW_SECONDS": 7 * 86400,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
