"""Alerts: when detokenize successes or failures, or search volume, leave the band, tell the SNS topic.

At most one alert per metric and region per MONITORING_ALERT_SUPPRESS_SECONDS,
however many processes run the check: the right to send is claimed with one
conditional update in the region's own DynamoDB table (tokens.alert_state).
Messages carry counts and times only: never a token id, a caller or a value.
Per-caller alerts (check_callers) name the caller by its id (client:7, user:3)
and link to the audit search for it: never its name, a token id or a value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings

from monitoring import app_settings, aws, callers, sources
from monitoring.charts import utc_minute
from tokens import alert_state
from tokens.errors import VaultError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    key: str  # metric key
    region: str
    minute: int
    value: float
    expected: float
    lower: float
    upper: float
    sent: bool = False
    note: str = ""

    @property
    def direction(self) -> str:
        return "above" if self.value > self.upper else "below"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def message(finding: Finding, title: str) -> tuple[str, str]:
    """Subject (<= 100 characters, as SNS requires) and body of an alert."""
    subject = f"Token vault {finding.region}: {title.lower()} {finding.direction} the expected band"
    body = "\n".join(
        [
            f"Token vault alert from the built-in anomaly detector ({finding.region}).",
            "",
            f"{title} in the minute from {utc_minute(finding.minute)}: {_number(finding.value)}.",
            f"Expected about {_number(finding.expected)}; "
            f"normal band {_number(finding.lower)} to {_number(finding.upper)}.",
            "",
            f"Graph: /monitoring/?region={finding.region}&range=1h",
        ]
    )
    return subject[:100], body


def claim(key: str, minute: int, now: int) -> alert_state.Before | None:
    """Take the right to alert about `minute` for `key`; None if suppressed or already sent.

    Returns what the state held before, so a failed send can give the right back.
    """
    quiet_since = now - int(app_settings.get("MONITORING_ALERT_SUPPRESS_SECONDS"))
    return alert_state.claim(key, minute, now, quiet_since)


def check(region: str | None = None, now: float | None = None) -> list[Finding]:
    """Look at the latest complete minutes of each alerting metric; alert on what left the band."""
    region = region or settings.VAULT_REGION_CODE
    now_s = int(time.time() if now is None else now)
    minutes = int(app_settings.get("MONITORING_ALERT_LOOKBACK_MINUTES"))
    topic = settings.ALERTS_SNS_TOPIC_ARN
    findings = []
    for series in sources.latest(region, minutes, sources.judged_until(now_s)):
        flagged = series.anomalies()
        if not flagged:
            continue
        i = flagged[-1]
        band, value = series.bands[i], series.values[i]
        assert value is not None and band.expected is not None
        assert band.lower is not None and band.upper is not None
        finding = Finding(
            series.metric.key, region, series.time(i), value, band.expected, band.lower, band.upper
        )
        findings.append(_deliver(finding, series.metric.title, topic, now_s))
    return findings


def _deliver(finding: Finding, title: str, topic: str, now: int) -> Finding:
    sent, note = _send(
        topic, f"{finding.region}:{finding.key}", finding.minute, now, lambda: message(finding, title)
    )
    return _with(finding, sent=sent, note=note)


def _send(
    topic: str, key: str, minute: int, now: int, compose: Callable[[], tuple[str, str]]
) -> tuple[bool, str]:
    """Publish one alert (`compose()` gives its subject and body) unless another
    alert for `key` went out recently: (sent, a note saying what happened)."""
    if not topic:
        return False, "ALERTS_SNS_TOPIC_ARN is not set; nothing sent"
    try:
        before = claim(key, minute, now)
    except VaultError as exc:
        log.error("alert for %s not sent: %s", key, exc.message)
        return False, exc.message
    if before is None:
        return False, "suppressed: alerted recently"
    subject, body = compose()
    try:
        aws.publish(topic, subject, body)
    except aws.MonitoringUnavailable as exc:
        alert_state.give_back(key, now, minute, before)
        log.error("alert for %s not sent: %s", key, exc)
        return False, str(exc)
    log.warning("alert sent: %s", subject)
    return True, "sent"


def _with(finding: Finding, sent: bool = False, note: str = "") -> Finding:
    return Finding(**{**finding.__dict__, "sent": sent, "note": note})


# --- per caller ------------------------------------------------------------------------


def check_callers(region: str | None = None, now: float | None = None) -> list[callers.CallerFinding]:
    """Each caller active in the latest complete minutes, judged on its own series
    (monitoring.callers); alert on each caller and metric that was flagged."""
    region = region or settings.VAULT_REGION_CODE
    now_s = int(time.time() if now is None else now)
    minutes = int(app_settings.get("MONITORING_ALERT_LOOKBACK_MINUTES"))
    delay = int(app_settings.get("MONITORING_CLOUDWATCH_DELAY_SECONDS")) if aws.deployed() else 0
    topic = settings.ALERTS_SNS_TOPIC_ARN
    return [_deliver_caller(f, topic, now_s) for f in callers.findings(region, minutes, now_s - delay)]


def _deliver_caller(finding: callers.CallerFinding, topic: str, now: int) -> callers.CallerFinding:
    key = f"{finding.region}:{finding.caller}:{finding.metric}"
    sent, note = _send(topic, key, finding.minute, now, lambda: callers.message(finding))
    return replace(finding, sent=sent, note=note)
