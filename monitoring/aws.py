"""CloudWatch and SNS: the only place the project builds clients for them.

Clients are built lazily, once per (service, region, endpoint), with bounded
retries and short timeouts (AWS_MAX_ATTEMPTS, AWS_*_TIMEOUT). Any
failure surfaces as MonitoringUnavailable, which callers show or log; nothing
here sits on a vault request's path.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
from django.conf import settings

from monitoring import app_settings
from monitoring.catalog import ALERTING, Metric
from monitoring.metrics import NAMESPACE

BAND_ID = "band"
_lock = threading.Lock()


class MonitoringUnavailable(Exception):
    """CloudWatch or SNS did not answer, or refused; the message is safe to show."""


@functools.lru_cache(maxsize=8)
def _client(service: str, region: str, endpoint: str, attempts: int, connect: int, read: int) -> Any:
    # Imported here: a vault request never builds a monitoring client.
    import boto3
    import botocore.config

    config = botocore.config.Config(
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=connect,
        read_timeout=read,
    )
    with _lock:  # a boto3 session is not thread-safe
        return boto3.session.Session().client(
            service, region_name=region, endpoint_url=endpoint or None, config=config
        )


def client(service: str, region: str | None = None) -> Any:
    if service not in ("cloudwatch", "sns"):
        raise ValueError("monitoring builds CloudWatch and SNS clients only")
    return _client(
        service,
        region or settings.AWS_REGION,
        settings.AWS_ENDPOINT_URL,
        settings.AWS_MAX_ATTEMPTS,
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )


def reset_clients() -> None:
    """Forget built clients (tests swap the emulator underneath)."""
    _client.cache_clear()


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def deployed() -> bool:
    """On AWS proper: metrics go to CloudWatch (EMF), so read them from there."""
    return not settings.AWS_ENDPOINT_URL and settings.METRICS_SINK == "emf"


def aws_region(code: str) -> str:
    """The AWS region serving a vault region code (SYD -> ap-southeast-2)."""
    for name, known in settings.REGION_CODES.items():
        if known == code:
            return str(name)
    if code == settings.VAULT_REGION_CODE:
        return str(settings.AWS_REGION)
    raise MonitoringUnavailable(f"No AWS region is configured for {code}.")


def _fail(what: str, exc: Exception) -> MonitoringUnavailable:
    code = error_code(exc)
    return MonitoringUnavailable(f"{what} failed{f' ({code})' if code else ''}; retry later.")


# --- metric queries -------------------------------------------------------------


def _dimensions(operation: str, outcome: str, code: str) -> list[dict[str, str]]:
    return [
        {"Name": "Operation", "Value": operation},
        {"Name": "Outcome", "Value": outcome},
        {"Name": "Region", "Value": code},
    ]


def _stat(
    qid: str, name: str, operation: str, outcome: str, code: str, period: int, stat: str
) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": name,
                "Dimensions": _dimensions(operation, outcome, code),
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def value_queries(metric: Metric, code: str, period: int, prefix: str) -> tuple[list[dict[str, Any]], str]:
    """Queries whose one returned series is the metric; returns them and that series' id.

    A single count is one metric; several outcomes or operations are summed with
    metric math (FILL, so a quiet outcome counts as 0, not as missing).
    """
    pairs = [(op, outcome) for op in metric.operations for outcome in metric.outcomes]
    if metric.counts and len(pairs) == 1:
        query = _stat(f"{prefix}", "Count", pairs[0][0], pairs[0][1], code, period, "Sum")
        query["ReturnData"] = True
        return [query], prefix
    queries = []
    counts, sums = [], []
    for n, (op, outcome) in enumerate(pairs):
        queries.append(_stat(f"{prefix}c{n}", "Count", op, outcome, code, period, "Sum"))
        counts.append(f"FILL({prefix}c{n}, 0)")
        if not metric.counts:
            queries.append(_stat(f"{prefix}l{n}", "Latency", op, outcome, code, period, "Sum"))
            sums.append(f"FILL({prefix}l{n}, 0)")
    total = " + ".join(counts)
    expression = total if metric.counts else f"({' + '.join(sums)}) / ({total})"
    queries.append({"Id": prefix, "Expression": expression, "Label": metric.title, "ReturnData": True})
    return queries, prefix


def band_query(value_id: str, qid: str = BAND_ID) -> dict[str, Any]:
    width = app_settings.get("MONITORING_CLOUDWATCH_BAND_WIDTH")
    return {"Id": qid, "Expression": f"ANOMALY_DETECTION_BAND({value_id}, {width})", "ReturnData": True}


def _when(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _get_metric_data(code: str, queries: list[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    cw = client("cloudwatch", aws_region(code))
    results: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": _when(start),
        "EndTime": _when(end),
        "ScanBy": "TimestampAscending",
    }
    try:
        while True:
            page = cw.get_metric_data(**kwargs)
            results.extend(page.get("MetricDataResults", []))
            token = page.get("NextToken")
            if not token:
                return results
            kwargs["NextToken"] = token
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _fail("Reading CloudWatch metrics", exc) from None


def _grid(start: int, end: int, period: int) -> dict[int, int]:
    return {t: i for i, t in enumerate(range(start, end, period))}


def _on_grid(
    code: str, queries: list[dict[str, Any]], ids: dict[str, str], start: int, end: int, period: int
) -> dict[str, list[float | None]]:
    """The queries' results, one list per key of `ids` (query id -> key), a value per
    period of [start, end); None where CloudWatch has no datapoint."""
    grid = _grid(start, end, period)
    out: dict[str, list[float | None]] = {key: [None] * len(grid) for key in ids.values()}
    for result in _get_metric_data(code, queries, start, end):
        key = ids.get(result.get("Id", ""))
        if key is None:
            continue
        for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
            i = grid.get(int(when.timestamp()) // period * period)
            if i is not None:
                out[key][i] = float(value)
    return out


def series(
    code: str, metrics: list[Metric], start: int, end: int, period: int
) -> dict[str, list[float | None]]:
    """Each metric's values per period over [start, end), from CloudWatch."""
    queries, ids = [], {}
    for n, metric in enumerate(metrics):
        part, vid = value_queries(metric, code, period, f"q{n}")
        queries.extend(part)
        ids[vid] = metric.key
    out = _on_grid(code, queries, ids, start, end, period)
    for metric in metrics:
        if metric.counts:
            # EMF writes nothing for a quiet period: after the first datapoint, missing means 0.
            values = out[metric.key]
            first = next((i for i, v in enumerate(values) if v is not None), len(values))
            out[metric.key] = values[:first] + [0.0 if v is None else v for v in values[first:]]
    return out


def bands(
    code: str, metrics: list[Metric], start: int, end: int, period: int
) -> dict[str, list[tuple[float, float] | None]]:
    """CloudWatch's own expected band (lower, upper) per period, for metrics with a detector.

    ANOMALY_DETECTION_BAND answers with two series under one id; which one is
    the upper bound is read from the values, not from labels.
    """
    queries, ids = [], {}
    for n, metric in enumerate(metrics):
        part, vid = value_queries(metric, code, period, f"q{n}")
        for query in part:
            query["ReturnData"] = False
        queries.extend(part)
        queries.append(band_query(vid, f"b{n}"))
        ids[f"b{n}"] = metric.key
    grid = _grid(start, end, period)
    found: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for result in _get_metric_data(code, queries, start, end):
        key = ids.get(result.get("Id", ""))
        if key is None:
            continue
        for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
            i = grid.get(int(when.timestamp()) // period * period)
            if i is not None:
                found[key][i].append(float(value))
    out: dict[str, list[tuple[float, float] | None]] = {}
    for metric in metrics:
        points = found.get(metric.key, {})
        out[metric.key] = [
            (min(points[i]), max(points[i])) if len(points.get(i, [])) >= 2 else None
            for i in range(len(grid))
        ]
    return out


# --- alarms, detectors, topic ------------------------------------------------------


def alarm_name(metric: Metric, code: str) -> str:
    return f"token-vault-{code}-{metric.key}-anomaly"


def alarm_states(code: str) -> dict[str, str]:
    """CloudWatch's state (OK, ALARM, INSUFFICIENT_DATA) of our alarms, by metric key."""
    names = {alarm_name(metric, code): metric.key for metric in ALERTING}
    try:
        response = client("cloudwatch", aws_region(code)).describe_alarms(
            AlarmNames=list(names), AlarmTypes=["MetricAlarm"]
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _fail("Reading CloudWatch alarms", exc) from None
    return {
        names[a["AlarmName"]]: a["StateValue"]
        for a in response.get("MetricAlarms", [])
        if a["AlarmName"] in names
    }


def detector_spec(metric: Metric, code: str) -> dict[str, Any]:
    """PutAnomalyDetector arguments for a metric, on the same series its alarm watches."""
    queries, vid = value_queries(metric, code, 60, "m")
    if len(queries) == 1:
        stat = queries[0]["MetricStat"]
        return {
            "SingleMetricAnomalyDetector": {
                "Namespace": stat["Metric"]["Namespace"],
                "MetricName": stat["Metric"]["MetricName"],
                "Dimensions": stat["Metric"]["Dimensions"],
                "Stat": stat["Stat"],
            }
        }
    return {"MetricMathAnomalyDetector": {"MetricDataQueries": queries}}


def alarm_spec(metric: Metric, code: str, topic_arn: str) -> dict[str, Any]:
    """PutMetricAlarm arguments: alarm while the metric is outside CloudWatch's band."""
    queries, vid = value_queries(metric, code, 60, "m")
    window = int(app_settings.get("MONITORING_ALARM_WINDOW"))
    return {
        "AlarmName": alarm_name(metric, code),
        "AlarmDescription": (
            f"Token vault {code}: {metric.title.lower()} per minute outside the expected band."
        ),
        "ActionsEnabled": True,
        "AlarmActions": [topic_arn],
        "Metrics": [*queries, band_query(vid)],
        "ThresholdMetricId": BAND_ID,
        "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "EvaluationPeriods": window,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
    }


def ensure_topic(region: str, name: str) -> str:
    """Create (or find: CreateTopic is idempotent) the alert topic; return its ARN."""
    try:
        return str(client("sns", region).create_topic(Name=name)["TopicArn"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _fail("Creating the SNS topic", exc) from None


def ensure_detectors(code: str, region: str) -> list[str]:
    cw = client("cloudwatch", region)
    done = []
    for metric in ALERTING:
        try:
            cw.put_anomaly_detector(**detector_spec(metric, code))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _fail(f"Creating the anomaly detector for {metric.key}", exc) from None
        done.append(metric.key)
    return done


def ensure_alarms(code: str, region: str, topic_arn: str) -> list[str]:
    cw = client("cloudwatch", region)
    done = []
    for metric in ALERTING:
        spec = alarm_spec(metric, code, topic_arn)
        try:
            cw.put_metric_alarm(**spec)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _fail(f"Creating the alarm {spec['AlarmName']}", exc) from None
        done.append(spec["AlarmName"])
    return done


def publish(topic_arn: str, subject: str, message: str) -> str:
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    try:
        response = client("sns", region).publish(TopicArn=topic_arn, Subject=subject, Message=message)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _fail("Publishing the alert", exc) from None
    return str(response["MessageId"])


# --- per caller ----------------------------------------------------------------------


def active_callers(code: str) -> list[str]:
    """Callers with per-caller metrics in the last three hours (ListMetrics' RecentlyActive),
    in the order CloudWatch lists them: one call per 500 series."""
    from monitoring.metrics import CALLER_ID, CALLER_METRICS

    cw = client("cloudwatch", aws_region(code))
    found: set[str] = set()
    kwargs: dict[str, Any] = {
        "Namespace": NAMESPACE,
        "MetricName": CALLER_METRICS["reads"],
        "Dimensions": [{"Name": "Region", "Value": code}],
        "RecentlyActive": "PT3H",
    }
    try:
        for name in CALLER_METRICS.values():
            kwargs["MetricName"] = name
            kwargs.pop("NextToken", None)
            while True:
                page = cw.list_metrics(**kwargs)
                for metric in page.get("Metrics", []):
                    for dim in metric.get("Dimensions", []):
                        if dim.get("Name") == "Caller" and CALLER_ID.match(str(dim.get("Value", ""))):
                            found.add(str(dim["Value"]))
                token = page.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise _fail("Listing CloudWatch metrics", exc) from None
    return sorted(found)


def caller_series(
    code: str, caller: str, metrics: list[str], start: int, end: int, period: int
) -> dict[str, list[float | None]]:
    """One caller's per-caller counts per period over [start, end), from CloudWatch."""
    from monitoring.metrics import CALLER_METRICS

    queries, ids = [], {}
    for n, key in enumerate(metrics):
        queries.append(
            {
                "Id": f"c{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": CALLER_METRICS[key],
                        "Dimensions": [
                            {"Name": "Region", "Value": code},
                            {"Name": "Caller", "Value": caller},
                        ],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
        )
        ids[f"c{n}"] = key
    out = _on_grid(code, queries, ids, start, end, period)
    size = len(range(start, end, period))
    # A caller is first seen at its first datapoint in any of its metrics; from there, missing means 0.
    first = min(
        (next((i for i, v in enumerate(vals) if v is not None), size) for vals in out.values()), default=size
    )
    return {key: vals[:first] + [0.0 if v is None else v for v in vals[first:]] for key, vals in out.items()}
