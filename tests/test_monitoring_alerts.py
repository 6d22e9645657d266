"""Alerts: detokenize successes or failures leaving the band reach the SNS topic, once."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from botocore.stub import ANY, Stubber
from django.core.management import call_command

from monitoring import alerts, aws, scheduled, simulator, store
from tests.conftest import MARKER, Api, make_api
from tokens import aws as tokens_aws

pytestmark = pytest.mark.django_db


def alert_table_items() -> list[dict[str, str]]:
    items = tokens_aws.client("dynamodb").scan(TableName="vault-alert-state")["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


UNKNOWN = "TKN-SYD-00000000-0000-4000-8000-000000000000"
SSN = "078-05-1120"


def minute_now() -> int:
    return store.minute_of(time.time())


def with_baseline(hours: float = 6) -> int:
    """Six hours of the seed's baseline before the current minute; returns that minute."""
    simulator.backfill("SYD", hours)
    return minute_now()


def test_an_enumeration_through_the_api_sends_one_short_alert_without_secrets(
    full_api: Api, inbox: Any
) -> None:
    minute = with_baseline()
    with time_machine.travel(minute + 5, tick=False):  # all 100 calls in one minute
        token = full_api.tokenize({"card": MARKER})
        for _ in range(100):
            assert full_api.post("/api/v1/detokenize", {"tokenId": UNKNOWN}).status_code == 404
    findings = alerts.check(now=minute + 61)
    assert [(f.key, f.value, f.sent) for f in findings] == [("detokenize-failure", 100, True)]
    [sent] = inbox()
    assert sent["Subject"] == "Token vault SYD: detokenize failures above the expected band"
    body = sent["Message"]
    assert "Detokenize failures in the minute from" in body and ": 100." in body
    assert "/monitoring/?region=SYD&range=1h" in body
    for secret in (MARKER, token, UNKNOWN, "full"):
        assert secret not in body and secret not in sent["Subject"]


def test_a_burst_of_searches_sends_an_alert_without_the_value(full_api: Api, inbox: Any) -> None:
    minute = with_baseline()
    searcher = make_api(["search"], "searcher")
    with time_machine.travel(minute + 5, tick=False):
        token = full_api.tokenize({"ssn": SSN})
        for _ in range(30):  # the default search rate limit of one client, in one minute
            response = searcher.post("/api/v1/tokens/search", {"field": "ssn", "value": SSN})
            assert response.status_code == 200
    findings = alerts.check(now=minute + 61)
    assert [(f.key, f.value, f.sent) for f in findings] == [("search", 30, True)]
    [sent] = inbox()
    assert sent["Subject"] == "Token vault SYD: searches by value above the expected band"
    for secret in (SSN, SSN.replace("-", ""), token, "searcher"):
        assert secret not in sent["Message"] and secret not in sent["Subject"]


def test_a_few_searches_a_minute_send_nothing(inbox: Any) -> None:
    minute = with_baseline()
    for k in range(-120, 0):  # two hours of a search or two a minute
        store.add("SYD", "search", "success", minute + 60 * k, 1 + k % 2, 20.0)
    store.add("SYD", "search", "success", minute, 2, 20.0)
    assert alerts.check(now=minute + 61) == []
    assert inbox() == []


def test_a_read_loop_of_successes_alerts_too(inbox: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "success", minute, 100, 2000.0)
    [finding] = alerts.check(now=minute + 61)
    assert finding.key == "detokenize-success" and finding.direction == "above" and finding.sent
    assert len(inbox()) == 1


def test_normal_traffic_sends_nothing(inbox: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "success", minute, 2, 40.0)
    assert alerts.check(now=minute + 61) == []
    assert inbox() == []


def test_at_most_one_alert_per_metric_every_few_minutes(inbox: Any) -> None:
    minute = with_baseline()
    for k in range(4):
        store.add("SYD", "detokenize", "not_found", minute + 60 * k, 100, 100.0)
    assert alerts.check(now=minute + 61)[0].sent
    assert alerts.check(now=minute + 61)[0].note == "suppressed: alerted recently"
    assert not alerts.check(now=minute + 121)[0].sent
    assert not alerts.check(now=minute + 181)[0].sent
    assert len(inbox()) == 1
    # Five minutes after the last alert, a still-anomalous metric alerts again.
    store.add("SYD", "detokenize", "not_found", minute + 360, 100, 100.0)
    assert alerts.check(now=minute + 421)[0].sent
    assert len(inbox()) == 1


def test_each_metric_has_its_own_suppression(inbox: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    store.add("SYD", "detokenize", "success", minute, 100, 100.0)
    assert all(f.sent for f in alerts.check(now=minute + 61))
    assert len(inbox()) == 2


def test_a_failed_publish_gives_the_right_to_alert_back(inbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)

    def down(*args: Any) -> str:
        raise aws.MonitoringUnavailable("Publishing the alert failed (InternalError); retry later.")

    monkeypatch.setattr(aws, "publish", down)
    [finding] = alerts.check(now=minute + 61)
    assert not finding.sent and "retry later" in finding.note
    monkeypatch.undo()
    assert alerts.check(now=minute + 62)[0].sent
    assert len(inbox()) == 1


def test_without_a_topic_the_finding_is_reported_and_nothing_sent(settings: Any) -> None:
    settings.ALERTS_SNS_TOPIC_ARN = ""
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    [finding] = alerts.check(now=minute + 61)
    assert not finding.sent and "ALERTS_SNS_TOPIC_ARN is not set" in finding.note
    assert alert_table_items() == []


def test_the_right_to_alert_is_claimed_once_by_competing_processes() -> None:
    assert alerts.claim("SYD:detokenize-failure", 1000, now=2000) == (None, None)
    assert alerts.claim("SYD:detokenize-failure", 1000, now=2001) is None
    assert alerts.claim("SYD:detokenize-failure", 1060, now=2100) is None  # within 300 s
    assert alerts.claim("SYD:detokenize-failure", 1060, now=2300) == (2000, 1000)
    assert alerts.claim("SYD:detokenize-success", 1060, now=2300) == (None, None)


def test_the_claim_is_one_conditional_update_so_only_one_process_wins() -> None:
    # Processes racing for the same alert: DynamoDB applies the condition
    # atomically, so the claim must be a single conditional update.
    ddb = tokens_aws.client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_response(
            "update_item",
            {},
            {
                "TableName": "vault-alert-state",
                "Key": {"key": {"S": "SYD:detokenize-failure"}},
                "UpdateExpression": "SET last_sent = :now, last_point = :minute",
                "ConditionExpression": (
                    "(attribute_not_exists(last_sent) OR last_sent <= :quiet)"
                    " AND (attribute_not_exists(last_point) OR last_point < :minute)"
                ),
                "ExpressionAttributeValues": {
                    ":now": {"N": "2000"},
                    ":minute": {"N": "1000"},
                    ":quiet": {"N": "1700"},
                },
                "ReturnValues": "UPDATED_OLD",
            },
        )
        stub.add_client_error("update_item", "ConditionalCheckFailedException")
        assert alerts.claim("SYD:detokenize-failure", 1000, now=2000) == (None, None)
        assert alerts.claim("SYD:detokenize-failure", 1000, now=2000) is None
        stub.assert_no_pending_responses()


def test_the_alert_state_lives_in_this_regions_table_not_the_database(inbox: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    assert alerts.check(now=minute + 61)[0].sent
    assert alert_table_items() == [
        {"key": "SYD:detokenize-failure", "last_sent": str(minute + 61), "last_point": str(minute)}
    ]


def test_when_the_state_table_does_not_answer_nothing_is_sent(inbox: Any, monkeypatch: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    ddb = tokens_aws.client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error("update_item", "ServiceUnavailable", http_status_code=503)
        [finding] = alerts.check(now=minute + 61)
    assert not finding.sent and finding.note == "DynamoDB is unavailable; retry later."
    assert inbox() == []


def test_the_command_and_the_scheduled_event_run_the_check(inbox: Any) -> None:
    minute = with_baseline()
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    with time_machine.travel(minute + 65, tick=False):
        out = io.StringIO()
        call_command("check_anomalies", stdout=out)
        assert "SYD detokenize-failure: 100 above band" in out.getvalue()
        when = datetime.fromtimestamp(minute, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert f"in the minute from {when} (" in out.getvalue()
        assert "(sent)" in out.getvalue()
        scheduled.check_anomalies({"source": "aws.events"}, None)
    assert len(inbox()) == 1


def test_the_command_says_when_all_is_well_and_which_finished_minutes_it_judged() -> None:
    minute = with_baseline()
    out = io.StringIO()
    with time_machine.travel(minute + 30, tick=False):
        call_command("check_anomalies", stdout=out)
    first = datetime.fromtimestamp(minute - 180, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = datetime.fromtimestamp(minute, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out.getvalue() == (
        "SYD: every alerting metric is inside its band (or has none yet) in the finished minutes "
        f"{first} to {until}; the minute running now is judged once it ends\n"
    )


def test_when_deployed_the_check_reads_cloudwatch_and_alerts_the_same_way(inbox: Any, settings: Any) -> None:
    settings.METRICS_SINK = "emf"
    settings.AWS_ENDPOINT_URL = ""
    now = 1_741_003_630
    end = (now - 120) // 60 * 60  # CloudWatch's newest two minutes may not be complete yet
    start = end - 15 * 86400 - 180
    n = (end - start) // 60
    stamps = [datetime.fromtimestamp(start + 60 * i, tz=UTC) for i in range(n)]
    failures = [0.0] * (n - 1) + [100.0]
    with Stubber(aws.client("cloudwatch", "ap-southeast-2")) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "q0", "Timestamps": stamps, "Values": [1.0] * n, "StatusCode": "Complete"},
                    {"Id": "q1", "Timestamps": stamps, "Values": failures, "StatusCode": "Complete"},
                ]
            },
            {
                "MetricDataQueries": ANY,
                "StartTime": datetime.fromtimestamp(start, tz=UTC),
                "EndTime": datetime.fromtimestamp(end, tz=UTC),
                "ScanBy": "TimestampAscending",
            },
        )
        findings = alerts.check(now=now)
        stub.assert_no_pending_responses()
    assert [(f.key, f.value, f.sent) for f in findings] == [("detokenize-failure", 100.0, True)]
    assert len(inbox()) == 1
