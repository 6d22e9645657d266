"""The monitoring page: auditors only, graphs with the band, anomalies and alarm state."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from botocore.stub import ANY, Stubber
from django.contrib.auth.models import Permission, User
from django.test import Client

from monitoring import aws, catalog, charts, simulator, sources, store
from monitoring.catalog import ALERTING, RANGES
from tests.conftest import MARKER, TOTP_SECRET, Api

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def user_with(*codenames: str) -> User:
    user = User.objects.create_user(f"user-{len(codenames)}-{time.monotonic_ns()}", password="x")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="tokens", codename=codename))
    # Operators have MFA: the operator gate sends anyone without it to enrolment.
    TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def auditor() -> Client:
    client = Client()
    client.force_login(user_with("view_audit"))
    return client


def svgs(html: str) -> list[ET.Element]:
    out, rest = [], html
    while '<svg class="chart' in rest:
        start = rest.index('<svg class="chart')
        end = rest.index("</svg>", start) + len("</svg>")
        out.append(ET.fromstring(rest[start:end]))
        rest = rest[end:]
    return out


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in() -> None:
    response = Client().get("/monitoring/")
    assert response.status_code == 302
    assert "next=/monitoring/" in response["Location"]


def test_an_operator_without_the_auditor_permission_is_refused() -> None:
    client = Client()
    client.force_login(user_with("tokenize", "detokenize"))
    assert client.get("/monitoring/").status_code == 403


def test_an_auditor_sees_every_graph_with_its_band_and_no_script_or_inline_style(auditor: Client) -> None:
    simulator.backfill("SYD", 3)
    response = auditor.get("/monitoring/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Detokenize successes" in html and "Detokenize failures" in html
    drawn = svgs(html)
    assert len(drawn) == len(catalog.METRICS)
    for svg in drawn:
        assert svg.findall(f"{SVG}path[@class='band']")
        assert svg.findall(f"{SVG}polyline[@class='line']")
    # The site's layout loads its one script file; nothing inline.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/tokens/vault.js" defer>']
    assert "style=" not in html
    assert '<link rel="stylesheet" href="/static/monitoring/monitoring.css">' in html
    assert "no-store" in response["Cache-Control"]


def test_a_read_loop_through_the_api_is_marked_and_puts_the_metric_in_alarm(
    auditor: Client, full_api: Api
) -> None:
    minute = store.minute_of(time.time())
    simulator.backfill("SYD", 3)
    with time_machine.travel(minute + 5, tick=False):
        token = full_api.tokenize({"card": MARKER})
        for _ in range(40):
            full_api.post("/api/v1/detokenize", {"tokenId": token})
    with time_machine.travel(minute + 65, tick=False):  # the state judges finished minutes
        html = auditor.get("/monitoring/?range=1h").content.decode()
    success = svgs(html)[0]
    marks = success.findall(f"{SVG}circle[@class='anomaly']")
    assert len(marks) == 1
    assert ": 40 calls, expected 0 to " in marks[0].find(f"{SVG}title").text  # type: ignore[union-attr]
    assert html.count('<span class="state state-alarm">In alarm</span>') == 1
    assert MARKER not in html and token not in html


def test_the_time_range_and_region_can_be_chosen(auditor: Client) -> None:
    simulator.backfill("SYD", 2)
    simulator.backfill("SIN", 2, seed=9)
    for key in ("1h", "24h", "7d"):
        html = auditor.get(f"/monitoring/?range={key}&region=SIN").content.decode()
        assert f"last {RANGES[key].label}" in html and "· SIN ·" in html
        assert f'href="?region=SIN&amp;range={key}" aria-current="page"' in html
    html = auditor.get("/monitoring/?range=1y&region=<script>").content.decode()
    assert "last 1 hour" in html and "· SYD ·" in html and "<script>" not in html


def test_with_no_data_the_page_says_the_detector_is_still_learning(auditor: Client) -> None:
    html = auditor.get("/monitoring/").content.decode()
    assert html.count("Learning") == len(ALERTING)  # one per alerting metric


def test_the_chart_draws_the_band_values_and_anomalies_as_svg() -> None:
    minute = 1_741_003_200  # on the hour: time labels every ten minutes
    for i in range(120):
        store.add("SYD", "detokenize", "not_found", minute - 60 * (120 - i), 1 if i % 7 == 0 else 0, 1.0)
    store.add("SYD", "detokenize", "not_found", minute - 120, 100, 1.0)
    [series] = sources.load(
        [m for m in sources.METRICS if m.key == "detokenize-failure"], "SYD", 3600, 60, 86400, minute, False
    )
    svg = ET.fromstring(charts.svg(series, "t"))
    assert svg.get("aria-labelledby") == "t"
    assert len(svg.findall(f"{SVG}circle[@class='anomaly']")) == 1 == len(series.anomalies())
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "0" in labels and "100" in labels
    when = datetime.fromtimestamp(minute - 3600 + 600, tz=UTC)
    assert any(label == when.strftime("%H:%M") for label in labels)


def metric_data(start: int, points: int, values_by_id: dict[str, list[float]]) -> dict[str, Any]:
    stamps = [datetime.fromtimestamp(start + 60 * i, tz=UTC) for i in range(points)]
    return {
        "MetricDataResults": [
            {"Id": qid, "Label": qid, "Timestamps": stamps, "Values": values, "StatusCode": "Complete"}
            for qid, values in values_by_id.items()
        ]
    }


def test_when_deployed_the_page_reads_cloudwatch_and_draws_its_band_beside_ours(
    auditor: Client, settings: Any
) -> None:
    settings.METRICS_SINK = "emf"
    settings.AWS_ENDPOINT_URL = ""
    now = 1_741_003_630
    end = now // 60 * 60 + 60
    history = (end - RANGES["1h"].history - 3600) // 60 * 60
    shown = end - 3600
    cw = aws.client("cloudwatch", "ap-southeast-2")
    with Stubber(cw) as stub, time_machine.travel(now, tick=False):
        n = (end - history) // 60
        stub.add_response(
            "get_metric_data",
            metric_data(history, n, {"q0": [2.0] * (n - 2) + [90.0, 1.0], "q1": [0.0] * n}),
            {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampAscending"},
        )
        band_upper = {"b0": [6.0] * 60, "b1": [3.0] * 60}
        response = metric_data(shown, 60, band_upper)
        response["MetricDataResults"] += metric_data(shown, 60, {"b0": [0.0] * 60, "b1": [0.0] * 60})[
            "MetricDataResults"
        ]
        stub.add_response(
            "get_metric_data",
            response,
            {
                "MetricDataQueries": ANY,
                "StartTime": datetime.fromtimestamp(shown, tz=UTC),
                "EndTime": datetime.fromtimestamp(end, tz=UTC),
                "ScanBy": "TimestampAscending",
            },
        )
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [
                    {"AlarmName": "token-vault-SYD-detokenize-success-anomaly", "StateValue": "ALARM"},
                    {"AlarmName": "token-vault-SYD-detokenize-failure-anomaly", "StateValue": "OK"},
                ]
            },
            {"AlarmNames": ANY, "AlarmTypes": ["MetricAlarm"]},
        )
        # The built-in detector's state: the last 5 minutes that reached CloudWatch (2 minutes' delay).
        judged = (now - 120) // 60 * 60
        since = judged - 300 - RANGES["1h"].history
        m = (judged - since) // 60
        stub.add_response(
            "get_metric_data",
            metric_data(since, m, {"q0": [2.0] * m, "q1": [0.0] * m}),
            {
                "MetricDataQueries": ANY,
                "StartTime": datetime.fromtimestamp(since, tz=UTC),
                "EndTime": datetime.fromtimestamp(judged, tz=UTC),
                "ScanBy": "TimestampAscending",
            },
        )
        html = auditor.get("/monitoring/").content.decode()
        stub.assert_no_pending_responses()
    success, failure = svgs(html)[:2]
    assert len(success.findall(f"{SVG}polyline[@class='cw-band']")) == 2
    assert len(success.findall(f"{SVG}circle[@class='anomaly']")) == 1
    assert "CloudWatch band" in html and "CloudWatch alarm" in html
    assert "Source: CloudWatch metrics for SYD" in html
    assert '<span class="state state-alarm">In alarm</span>' in html
    assert '<span class="state state-ok">OK</span>' in html


def test_when_cloudwatch_does_not_answer_the_page_says_so(auditor: Client, settings: Any) -> None:
    settings.METRICS_SINK = "emf"
    settings.AWS_ENDPOINT_URL = ""
    with Stubber(aws.client("cloudwatch", "ap-southeast-2")) as stub:
        stub.add_client_error("get_metric_data", "Throttling", http_status_code=400)
        response = auditor.get("/monitoring/")
    assert response.status_code == 200
    assert "Reading CloudWatch metrics failed (Throttling); retry later." in response.content.decode()
