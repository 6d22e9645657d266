"""setup_monitoring: SNS topic, CloudWatch anomaly detectors and alarms, idempotently.

moto implements SNS topics and metric alarms (so those run against it); it has no
anomaly detectors, so PutAnomalyDetector is checked with botocore's Stubber, which
also validates every parameter against the CloudWatch API model.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from django.core.management import CommandError, call_command
from moto import mock_aws

from monitoring import aws
from monitoring.catalog import ALERTING

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def vault_aws() -> Iterator[None]:
    """Only CloudWatch and SNS here: the emulator without the vault's tables and key."""
    with mock_aws():
        aws.reset_clients()
        yield
    aws.reset_clients()


FAILURES = ["not_found", "denied", "invalid", "integrity_failure", "error"]


def dims(outcome: str, operation: str = "detokenize") -> list[dict[str, str]]:
    return [
        {"Name": "Operation", "Value": operation},
        {"Name": "Outcome", "Value": outcome},
        {"Name": "Region", "Value": "SYD"},
    ]


def stat(qid: str, outcome: str, operation: str = "detokenize") -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": "Tokenizer",
                "MetricName": "Count",
                "Dimensions": dims(outcome, operation),
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }


FAILURE_QUERIES = [
    *[stat(f"mc{n}", outcome) for n, outcome in enumerate(FAILURES)],
    {
        "Id": "m",
        "Expression": " + ".join(f"FILL(mc{n}, 0)" for n in range(5)),
        "Label": "Detokenize failures",
        "ReturnData": True,
    },
]
SUCCESS_DETECTOR = {
    "SingleMetricAnomalyDetector": {
        "Namespace": "Tokenizer",
        "MetricName": "Count",
        "Dimensions": dims("success"),
        "Stat": "Sum",
    }
}
FAILURE_DETECTOR = {"MetricMathAnomalyDetector": {"MetricDataQueries": FAILURE_QUERIES}}
# Search volume, whatever each search answered: an oracle being asked is the news.
SEARCH_QUERIES = [
    *[stat(f"mc{n}", outcome, "search") for n, outcome in enumerate(["success", *FAILURES])],
    {
        "Id": "m",
        "Expression": " + ".join(f"FILL(mc{n}, 0)" for n in range(6)),
        "Label": "Searches by value",
        "ReturnData": True,
    },
]
SEARCH_DETECTOR = {"MetricMathAnomalyDetector": {"MetricDataQueries": SEARCH_QUERIES}}
DESCRIPTION = "Token vault SYD: detokenize {} per minute outside the expected band."
BAND = {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)", "ReturnData": True}


def test_detectors_watch_detokenize_successes_the_sum_of_failures_and_search_volume() -> None:
    cw = aws.client("cloudwatch")
    with Stubber(cw) as stub:
        stub.add_response("put_anomaly_detector", {}, SUCCESS_DETECTOR)
        stub.add_response("put_anomaly_detector", {}, FAILURE_DETECTOR)
        stub.add_response("put_anomaly_detector", {}, SEARCH_DETECTOR)
        assert aws.ensure_detectors("SYD", "ap-southeast-2") == [
            "detokenize-success",
            "detokenize-failure",
            "search",
        ]
        stub.assert_no_pending_responses()


def test_alarms_on_the_anomaly_band_are_wired_to_the_topic_and_idempotent() -> None:
    topic = aws.ensure_topic("ap-southeast-2", "token-vault-alerts")
    for _ in range(2):
        assert aws.ensure_topic("ap-southeast-2", "token-vault-alerts") == topic
        aws.ensure_alarms("SYD", "ap-southeast-2", topic)
    alarms = aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == [
        "token-vault-SYD-detokenize-failure-anomaly",
        "token-vault-SYD-detokenize-success-anomaly",
        "token-vault-SYD-search-anomaly",
    ]
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["ThresholdMetricId"] == "band"
        assert alarm["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 1)
        band = [m for m in alarm["Metrics"] if m["Id"] == "band"]
        assert band and band[0]["Expression"] == "ANOMALY_DETECTION_BAND(m, 2)"
    failure = next(a for a in alarms if "failure" in a["AlarmName"])
    expression = next(m for m in failure["Metrics"] if m["Id"] == "m")
    assert (
        expression["Expression"] == "FILL(mc0, 0) + FILL(mc1, 0) + FILL(mc2, 0) + FILL(mc3, 0) + FILL(mc4, 0)"
    )
    assert len(aws.client("sns").list_topics()["Topics"]) == 1


def test_the_alarm_request_is_what_cloudwatch_expects() -> None:
    cw = aws.client("cloudwatch")
    topic = "arn:aws:sns:ap-southeast-2:123456789012:token-vault-alerts"
    common = {
        "ActionsEnabled": True,
        "AlarmActions": [topic],
        "ThresholdMetricId": "band",
        "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
    }
    success = stat("m", "success") | {"ReturnData": True}
    with Stubber(cw) as stub:
        stub.add_response(
            "put_metric_alarm",
            {},
            common
            | {
                "AlarmName": "token-vault-SYD-detokenize-success-anomaly",
                "AlarmDescription": DESCRIPTION.format("successes"),
                "Metrics": [success, BAND],
            },
        )
        stub.add_response(
            "put_metric_alarm",
            {},
            common
            | {
                "AlarmName": "token-vault-SYD-detokenize-failure-anomaly",
                "AlarmDescription": DESCRIPTION.format("failures"),
                "Metrics": [*FAILURE_QUERIES, BAND],
            },
        )
        stub.add_response(
            "put_metric_alarm",
            {},
            common
            | {
                "AlarmName": "token-vault-SYD-search-anomaly",
                "AlarmDescription": DESCRIPTION.replace("detokenize {}", "searches by value"),
                "Metrics": [*SEARCH_QUERIES, BAND],
            },
        )
        aws.ensure_alarms("SYD", "ap-southeast-2", topic)
        stub.assert_no_pending_responses()


def run_setup() -> str:
    out = io.StringIO()
    call_command("setup_monitoring", stdout=out)
    return out.getvalue()


def test_the_command_creates_topic_detectors_and_alarms_and_can_run_again() -> None:
    cw = aws.client("cloudwatch")
    outputs = []
    for _run in range(2):
        with Stubber(cw) as stub:
            for operation in ("put_anomaly_detector", "put_metric_alarm"):
                for _metric in ALERTING:
                    stub.add_response(operation, {})
            outputs.append(run_setup())
            stub.assert_no_pending_responses()
    assert outputs[0] == outputs[1]
    topic = aws.client("sns").list_topics()["Topics"][0]["TopicArn"]
    assert topic.endswith(":token-vault-alerts")
    assert f"SNS topic: {topic}" in outputs[0]
    assert "anomaly alarm: token-vault-SYD-detokenize-failure-anomaly" in outputs[0]
    assert f"Set ALERTS_SNS_TOPIC_ARN={topic}" in outputs[0]


def test_the_topic_is_named_after_the_configured_arn(settings: Any) -> None:
    settings.ALERTS_SNS_TOPIC_ARN = "arn:aws:sns:ap-southeast-2:123456789012:vault-pager"
    with Stubber(aws.client("cloudwatch")) as stub:
        for operation in ("put_anomaly_detector", "put_metric_alarm"):
            for _metric in ALERTING:
                stub.add_response(operation, {})
        out = run_setup()
    assert "SNS topic: arn:aws:sns:ap-southeast-2:123456789012:vault-pager" in out
    assert "Set ALERTS_SNS_TOPIC_ARN" not in out


def test_a_refusal_from_cloudwatch_stops_the_command_with_a_clear_message() -> None:
    with Stubber(aws.client("cloudwatch")) as stub:
        stub.add_client_error("put_anomaly_detector", "AccessDenied", http_status_code=403)
        message = r"Creating the anomaly detector for detokenize-success failed \(AccessDenied\)"
        with pytest.raises(CommandError, match=message):
            run_setup()
