"""Honeytoken alerts: a use of a decoy token is an alert at once, without statistics.

tokens.honeytokens records each use (an audit record with outcome `honeytoken`
and a hit row in the decoy table); this reads the hit rows, tells the SNS topic
once per hit however many processes check at once (the hit row is claimed
with one conditional update), and hands the monitoring page what to show.
Unlike the detector's alerts, these name the caller: that is the point.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings

from monitoring import app_settings, aws
from tokens import honeytokens
from tokens.errors import VaultError
from tokens.honeytokens import Hit

log = logging.getLogger(__name__)

TOKENS_SHOWN = 5  # decoy ids named in one message; the audit record lists them all


@dataclass(frozen=True)
class Alert:
    hit: Hit
    sent: bool = False
    note: str = ""

    def line(self) -> str:
        """check_anomalies' report of one use."""
        h = self.hit
        return (
            f"{h.region} HONEYTOKEN: {h.action} of {describe_tokens(h)} by {h.actor_type} {h.actor_id} "
            f"({h.actor}) via {h.channel} at {h.at:%Y-%m-%d %H:%M:%S} UTC, request {h.request_id} "
            f"({self.note})"
        )


def describe_tokens(hit: Hit) -> str:
    shown = ", ".join(hit.token_ids[:TOKENS_SHOWN])
    more = len(hit.token_ids) - TOKENS_SHOWN
    noun = "decoy token" if len(hit.token_ids) == 1 else "decoy tokens"
    return f"{noun} {shown}" + (f" and {more} more" if more > 0 else "")


def audit_query(hit: Hit) -> str:
    """The audit search's query, filtered to this caller's honeytoken records of that day."""
    day = hit.at.date().isoformat()
    query = {"actor": hit.actor_id, "outcome": honeytokens.OUTCOME, "start": day, "end": day}
    return urlencode({k: v for k, v in query.items() if v})


def audit_link(hit: Hit) -> str:
    return "/audit?" + audit_query(hit)


def message(hit: Hit) -> tuple[str, str]:
    """Subject (<= 100 characters, as SNS requires) and body of a honeytoken alert."""
    subject = f"Token vault {hit.region}: HONEYTOKEN used by {hit.actor_type} {hit.actor_id}"
    body = "\n".join(
        [
            f"Token vault alert ({hit.region}): a honeytoken (decoy token) was used.",
            "",
            f"Who: {hit.actor_type} {hit.actor_id} ({hit.actor}), via {hit.channel}, "
            f"from {hit.source_ip or 'an unknown address'}.",
            f"What: {hit.action} of {describe_tokens(hit)} (answered as for any token: {hit.outcome}).",
            f"When: {hit.at:%Y-%m-%d %H:%M:%S} UTC, request {hit.request_id}.",
            "",
            "Decoys hold no real data and no legitimate process uses them: whoever holds these ids",
            "found them where they were planted (see docs/monitoring.md). Treat the caller's",
            "credentials as compromised until shown otherwise.",
            "",
            f"Audit records: {audit_link(hit)}",
        ]
    )
    return subject[:100], body


def check(region: str | None = None, now: float | None = None) -> list[Alert]:
    """Alert on each use of a decoy in the lookback window not alerted yet; report every one."""
    region = region or settings.VAULT_REGION_CODE
    now_s = int(time.time() if now is None else now)
    since = datetime.fromtimestamp(now_s, tz=UTC) - timedelta(
        seconds=int(app_settings.get("MONITORING_HONEYTOKEN_LOOKBACK_SECONDS"))
    )
    try:
        found = honeytokens.hits(region, since)
    except VaultError as exc:
        log.error("honeytoken uses could not be read: %s", exc.internal or exc.code)
        return []
    topic = settings.ALERTS_SNS_TOPIC_ARN
    return [_deliver(hit, topic, now_s) for hit in reversed(found)]  # oldest first


def _deliver(hit: Hit, topic: str, now: int) -> Alert:
    if hit.alerted:
        return Alert(hit, note="alert sent earlier")
    if not topic:
        return Alert(hit, note="ALERTS_SNS_TOPIC_ARN is not set; nothing sent")
    try:
        if not honeytokens.claim_alert(hit, now):
            return Alert(hit, note="alert sent earlier")
    except VaultError as exc:
        log.error("honeytoken alert not sent: %s", exc.message)
        return Alert(hit, note=exc.message)
    subject, body = message(hit)
    try:
        aws.publish(topic, subject, body)
    except aws.MonitoringUnavailable as exc:
        honeytokens.give_back(hit)
        log.error("honeytoken alert not sent: %s", exc)
        return Alert(hit, note=str(exc))
    log.warning("alert sent: %s", subject)
    return Alert(hit, sent=True, note="sent")


def recent(region: str, now: float | None = None) -> tuple[list[Hit], str]:
    """Uses of decoys the monitoring page shows at the top, newest first, and a problem reading them."""
    now_s = time.time() if now is None else now
    since = datetime.fromtimestamp(now_s, tz=UTC) - timedelta(
        seconds=int(app_settings.get("MONITORING_HONEYTOKEN_SHOW_SECONDS"))
    )
    try:
        return honeytokens.hits(region, since), ""
    except VaultError:
        return [], "Uses of honeytokens could not be read (the decoy table did not answer)."
