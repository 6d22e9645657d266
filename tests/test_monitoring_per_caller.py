"""Per-caller detection: each API client and operator judged on its own traffic.

The labelled populations (tests/labelled_callers.py) were made apart from the
rules: a client at ten times its norm, a client made today reading thousands,
an operator revealing at 03:00, a client asking for many missing tokens; each
must be flagged on its own caller while the totals stay inside their band, and
calm callers must stay quiet. The held-out populations were never looked at
while the rules' defaults were chosen.
"""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from botocore.stub import ANY, Stubber
from django.core.management import CommandError, call_command

from monitoring import alerts, aws, callers, detector, metrics, store
from monitoring.catalog import RANGES
from monitoring.models import CallerBucket
from tests import labelled_callers as lc
from tests.conftest import MARKER, Api, fresh_client
from tokens.actors import Actor
from tokens.models import ApiClient

ALL = [*lc.TUNING, *lc.HELD_OUT]
UNKNOWN = "TKN-SYD-00000000-0000-4000-8000-000000000000"


@functools.cache
def judged(
    name: str,
) -> tuple[lc.Population, dict[tuple[str, str], list[callers.Verdict]], dict[str, list[bool]]]:
    """A population's last day, judged per caller and in total (computed once per run)."""
    spec = next(s for s in ALL if s.name == name)
    pop = lc.build(spec)
    first = pop.last_day
    verdicts = {
        (t.caller, m): callers.assess(t.values(m), pop.start_ts, 60, m, t.operator, first=first, drawn=False)
        for t in pop.traces
        for m in ("reads", "not_found")
    }
    totals = {
        m: [b.anomaly for b in detector.bands(values, 60, start=first)]
        for m, values in (("reads", pop.total_reads), ("not_found", pop.total_not_found))
    }
    return pop, verdicts, totals


def attacked(name: str, kind: str) -> tuple[lc.Population, lc.Trace, lc.Window, list[callers.Verdict]]:
    pop, verdicts, _ = judged(name)
    for trace in pop.traces:
        for window in trace.windows:
            if window.kind == kind:
                return pop, trace, window, verdicts[(trace.caller, window.metric)]
    raise AssertionError(f"{name} has no {kind} window")


def flagged_in(
    pop: lc.Population, window: lc.Window, verdicts: list[callers.Verdict]
) -> list[callers.Verdict]:
    return [
        verdicts[i - pop.last_day]
        for i in range(window.start, window.end)
        if verdicts[i - pop.last_day].band.anomaly
    ]


ids = [s.name for s in ALL]


@pytest.mark.parametrize("name", ids)
def test_totals_stay_inside_their_band_during_every_attack(name: str) -> None:
    pop, _, totals = judged(name)
    for trace in pop.traces:
        for w in trace.windows:
            flags = totals[w.metric]
            assert not any(flags[i - pop.last_day] for i in range(w.start, w.end)), (w.kind, w.metric)


@pytest.mark.parametrize("name", ids)
def test_one_client_at_ten_times_its_own_norm_is_flagged_against_its_own_band(name: str) -> None:
    pop, trace, window, verdicts = attacked(name, "ten-times")
    hits = flagged_in(pop, window, verdicts)
    assert trace.caller.startswith("client:") and hits
    assert {v.rule for v in hits} == {"band"}


@pytest.mark.parametrize("name", ids)
def test_a_client_made_today_reading_thousands_of_records_is_over_the_new_caller_limit(name: str) -> None:
    pop, trace, window, verdicts = attacked(name, "new-client")
    hits = flagged_in(pop, window, verdicts)
    assert hits and {v.rule for v in hits} == {"new-caller"}
    # The judged value is the last 60 minutes, over the limit.
    assert hits[0].window == 60 and hits[0].value > callers.Limits().new_caller["reads"]
    # Found within the scrape's first hour (3,000 records over three hours).
    first = next(i for i in range(window.start, window.end) if verdicts[i - pop.last_day].band.anomaly)
    assert first - window.start <= 60


@pytest.mark.parametrize("name", ids)
def test_an_operator_revealing_at_an_hour_they_never_work_is_flagged_at_once(name: str) -> None:
    pop, trace, window, verdicts = attacked(name, "off-hours")
    assert trace.operator
    hits = flagged_in(pop, window, verdicts)
    assert {v.rule for v in hits} == {"off-hours"}
    # Every reveal of the night is flagged, the first in the minute it happens.
    reveals = [i for i in range(window.start, window.end) if trace.reads[i]]
    assert len(hits) == len(reveals) and verdicts[reveals[0] - pop.last_day].band.anomaly


@pytest.mark.parametrize("name", ids)
def test_a_client_asking_for_many_missing_tokens_is_flagged_on_its_not_found_count(name: str) -> None:
    pop, trace, window, verdicts = attacked(name, "enumeration")
    assert window.metric == "not_found"
    hits = flagged_in(pop, window, verdicts)
    assert hits and {v.rule for v in hits} == {"band"}
    first = next(i for i in range(window.start, window.end) if verdicts[i - pop.last_day].band.anomaly)
    assert first - window.start <= 5


@pytest.mark.parametrize("name", ids)
def test_calm_callers_raise_no_alarm_all_day(name: str) -> None:
    pop, verdicts, _ = judged(name)
    for trace in pop.traces:
        for metric in ("reads", "not_found"):
            flags = [v.band.anomaly for v in verdicts[(trace.caller, metric)]]
            score = lc.score(pop, trace, metric, flags, pop.last_day)
            assert score.false_alarms == 0, (trace.caller, trace.role, metric)


# --- the rules, one at a time -------------------------------------------------------


def test_a_new_caller_under_the_limit_is_not_flagged() -> None:
    values: list[float | None] = [None] * 60 + [8.0] * 60  # 480 in its first hour
    assert not any(v.band.anomaly for v in callers.assess(values, 0, 60, "reads", False))


def test_a_new_caller_over_the_limit_is_flagged_from_the_minute_it_crosses() -> None:
    values: list[float | None] = [None] * 60 + [10.0] * 60  # 600 in its first hour
    verdicts = callers.assess(values, 0, 60, "reads", False)
    flagged = [i for i, v in enumerate(verdicts) if v.band.anomaly]
    assert flagged[0] == 60 + 50  # the 51st minute brings it to 510
    assert verdicts[flagged[0]].value == 510 and verdicts[flagged[0]].band.upper == 0


def test_off_hours_needs_a_week_of_history_and_applies_to_operators_only() -> None:
    day = 1440
    values: list[float | None] = [0.0] * (10 * day)
    for d in range(10):
        for minute in range(9 * 60, 17 * 60, 30):
            values[d * day + minute] = 1.0
    values[9 * day + 3 * 60] = 1.0  # 03:00 on day 9
    values[3 * day + 22 * 60] = 1.0  # 22:00 on day 3: too early to know (and 22:00 is usual since)
    values[9 * day + 22 * 60] = 1.0
    verdicts = callers.assess(values, 0, 60, "reads", True)
    flagged = [(i, verdicts[i].rule) for i in range(len(values)) if verdicts[i].band.anomaly]
    assert flagged == [(9 * day + 3 * 60, "off-hours")]
    as_client = callers.assess(values, 0, 60, "reads", False, first=9 * day)
    assert not any(v.rule == "off-hours" for v in as_client)


# --- counted per caller, through the API ------------------------------------------------


def client_id(name: str) -> str:
    return f"client:{ApiClient.objects.get(name=name).pk}"


@pytest.mark.django_db
def test_reads_and_missing_tokens_are_counted_per_client_by_id_only(full_api: Api) -> None:
    token = full_api.tokenize({"card": MARKER})
    for _ in range(3):
        assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert full_api.post("/api/v1/detokenize", {"tokenId": UNKNOWN}).status_code == 404
    assert full_api.get(f"/api/v1/tokens/{UNKNOWN}").status_code == 404
    assert (
        full_api.post(
            "/api/v1/detokenize/batch", {"tokens": [{"tokenId": token}, {"tokenId": UNKNOWN}]}
        ).status_code
        == 200
    )
    rows: dict[tuple[str, str], int] = {}
    for r in CallerBucket.objects.all():  # the calls may straddle a minute
        rows[(r.caller, r.metric)] = rows.get((r.caller, r.metric), 0) + r.count
    me = client_id("full")
    assert rows == {(me, "reads"): 4, (me, "not_found"): 3}
    dumped = json.dumps(list(CallerBucket.objects.values()))
    for secret in (MARKER, token, "full"):
        assert secret not in dumped


def test_an_operator_is_counted_by_user_id_and_a_system_caller_not_at_all() -> None:
    assert metrics.caller_of(Actor("operator", "user:12", "alice@example.org")) == "user:12"
    assert metrics.caller_of(Actor("api_client", "client:7", "payments")) == "client:7"
    for actor in (
        Actor("system", "cli", "(command line)"),
        Actor("api_client", "user:3", "confused"),  # a kind and id that do not match
        Actor("operator", "user:4111111111111111", "x"),  # never a long number
        Actor("anonymous", "", "(unauthenticated)"),
    ):
        assert metrics.caller_of(actor) == ""


def test_the_emf_line_adds_one_per_caller_directive_and_no_call() -> None:
    line = json.loads(metrics.emf_line("detokenize", "not_found", 0.01, 1, "client:7"))
    assert [d["Dimensions"] for d in line["_aws"]["CloudWatchMetrics"]] == [
        [["Operation", "Outcome", "Region"]],
        [["Region", "Caller"]],
    ]
    assert line["CallerNotFound"] == 1 and line["Caller"] == "client:7"
    tokenize = json.loads(metrics.emf_line("tokenize", "success", 0.01, 1, "client:7"))
    assert len(tokenize["_aws"]["CloudWatchMetrics"]) == 1 and "Caller" not in tokenize


# --- alerts -----------------------------------------------------------------------------


def calm_history(caller: str, end: int, days: float = 2, rate: int = 2) -> None:
    """`days` of calm reads (a fixed count a minute) and no missing tokens before `end`."""
    start = end - int(days * 86400)
    store.add_caller_many(("SYD", caller, "reads", m, rate) for m in range(start, end, 60))


@pytest.mark.django_db
def test_an_enumeration_by_one_client_alerts_naming_it_with_its_band_and_audit_link(
    full_api: Api, inbox: Any, operators: dict[str, Any]
) -> None:
    me = client_id("full")
    minute = store.minute_of(time.time())
    calm_history(me, minute)
    with time_machine.travel(minute + 5, tick=False):
        for _ in range(40):
            assert full_api.post("/api/v1/detokenize", {"tokenId": UNKNOWN}).status_code == 404
    [finding] = alerts.check_callers(now=minute + 61)
    assert (finding.caller, finding.metric, finding.rule, finding.value, finding.sent) == (
        me, "not_found", "band", 40, True,
    )  # fmt: skip
    assert finding.upper < 40
    [sent] = inbox()
    assert sent["Subject"] == f"Token vault SYD: API client {me} tokens not found above its own band"
    body = sent["Message"]
    assert f"Caller: API client {me}" in body and "Metric: tokens not found (not_found)" in body
    when = datetime.fromtimestamp(minute, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert f"tokens not found 40 in the minute from {when}; " in body
    assert f"its own normal band {finding.lower:.0f} to {finding.upper:.0f}." in body
    for secret in (MARKER, UNKNOWN, "full"):
        assert secret not in body and secret not in sent["Subject"]
    # The link opens the audit search filtered to this caller, outcome and day.
    link = next(line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("Audit records: "))
    query = parse_qs(urlsplit(link).query)
    day = datetime.fromtimestamp(minute, tz=UTC).date().isoformat()
    assert query == {"actor": [me], "outcome": ["not_found"], "start": [day], "end": [day]}
    page = fresh_client(operators["auditor"]).get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count(UNKNOWN) >= 40 or html.count("not_found") >= 40


@pytest.mark.django_db
def test_calm_callers_send_nothing(inbox: Any) -> None:
    minute = store.minute_of(time.time())
    calm_history("client:41", minute)
    store.add_caller("SYD", "client:41", "reads", minute, 3)
    assert alerts.check_callers(now=minute + 61) == []
    assert inbox() == []


@pytest.mark.django_db
def test_check_anomalies_prints_the_caller_the_value_and_the_audit_link(settings: Any) -> None:
    minute = store.minute_of(time.time())
    store.add_caller_many(("SYD", "client:9", "reads", m, 40) for m in range(minute - 1800, minute + 60, 60))
    out = io.StringIO()
    with time_machine.travel(minute + 61, tick=False):
        call_command("check_anomalies", stdout=out)
    [line] = [text for text in out.getvalue().splitlines() if "caller" in text]
    assert line.startswith("SYD caller API client client:9: records revealed ")
    assert "above 500, the limit for a caller first seen less than a day ago" in line
    assert "audit /audit?actor=client%3A9&action=detokenize&outcome=success" in line


def test_when_deployed_callers_are_listed_and_read_from_cloudwatch(
    inbox: Any, settings: Any, db: Any
) -> None:
    settings.METRICS_SINK = "emf"
    settings.AWS_ENDPOINT_URL = ""
    now = 1_741_003_630
    end = (now - 120) // 60 * 60
    start = end - 15 * 86400 - 180
    n = (end - start) // 60
    stamps = [datetime.fromtimestamp(start + 60 * i, tz=UTC) for i in range(n)]
    with Stubber(aws.client("cloudwatch", "ap-southeast-2")) as stub:
        for name in ("CallerReads", "CallerNotFound"):
            region = {"Name": "Region", "Value": "SYD"}
            caller = {"Name": "Caller", "Value": "client:7"}
            listed = {"Namespace": "Tokenizer", "MetricName": name, "Dimensions": [region, caller]}
            asked = {"Namespace": "Tokenizer", "MetricName": name, "Dimensions": [region]}
            stub.add_response("list_metrics", {"Metrics": [listed]}, asked | {"RecentlyActive": "PT3H"})
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "c0", "Timestamps": stamps, "Values": [1.0] * n, "StatusCode": "Complete"},
                    {
                        "Id": "c1",
                        "Timestamps": stamps,
                        "Values": [0.0] * (n - 1) + [60.0],
                        "StatusCode": "Complete",
                    },
                ]
            },
            {
                "MetricDataQueries": ANY,
                "StartTime": datetime.fromtimestamp(start, tz=UTC),
                "EndTime": datetime.fromtimestamp(end, tz=UTC),
                "ScanBy": "TimestampAscending",
            },
        )
        [finding] = alerts.check_callers(now=now)
        stub.assert_no_pending_responses()
    assert (finding.caller, finding.metric, finding.value, finding.sent) == (
        "client:7",
        "not_found",
        60.0,
        True,
    )
    assert len(inbox()) == 1


# --- the monitoring page ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_monitoring_page_shows_the_top_callers_with_their_own_graphs_and_bands(
    operators: dict[str, Any],
) -> None:
    minute = store.minute_of(time.time())
    calm_history("client:3", minute, days=1.5, rate=3)
    calm_history("user:5", minute, days=1.5, rate=1)
    store.add_caller("SYD", "client:3", "reads", minute - 120, 90)  # ten times its norm
    store.add_caller("SYD", "client:3", "not_found", minute - 180, 1)
    html = fresh_client(operators["auditor"]).get("/monitoring/").content.decode()
    section = html[html.index('id="callers"') :]
    assert "Top callers" in section
    busiest = section.index("API client <code>client:3</code>")
    assert busiest < section.index("Operator <code>user:5</code>")
    cards = section.split('<article class="caller-card')[1:]
    assert cards[0].startswith(" in-alarm") and not cards[1].startswith(" in-alarm")
    for card in cards:
        assert card.count('<svg class="chart') == 2
        assert 'class="band"' in card
        assert "Records revealed" in card and "Tokens not found" in card
    assert 'class="anomaly"' in cards[0]
    assert 'href="/audit?actor=client%3A3&amp;action=detokenize&amp;outcome=success' in cards[0]


@pytest.mark.django_db
def test_the_page_shows_a_caller_asked_for_and_ignores_anything_else(operators: dict[str, Any]) -> None:
    minute = store.minute_of(time.time())
    calm_history("client:3", minute, days=0.1)
    auditor = fresh_client(operators["auditor"])
    html = auditor.get("/monitoring/?caller=user:8").content.decode()
    assert "Operator <code>user:8</code>" in html  # asked for, though quiet
    html = auditor.get(f"/monitoring/?caller={MARKER}").content.decode()
    assert MARKER not in html and "API client <code>client:3</code>" in html


@pytest.mark.django_db
def test_with_no_per_caller_traffic_the_page_says_so(operators: dict[str, Any]) -> None:
    html = fresh_client(operators["auditor"]).get("/monitoring/").content.decode()
    assert "No API client or operator revealed a record" in html


def test_make_bench_measures_what_per_caller_metrics_add_to_a_request() -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "bench/vault_bench.py", "--n", "2", "--only", "caller_metrics"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [calls] = [line for line in done.stdout.splitlines() if "AWS calls per detokenize added" in line]
    assert calls.endswith("| 0.00 | ≤ 0  | PASS |")


def test_when_deployed_the_page_keeps_the_busiest_of_the_callers_cloudwatch_lists(
    settings: Any, db: Any
) -> None:
    settings.METRICS_SINK = "emf"
    settings.AWS_ENDPOINT_URL = ""
    settings.MONITORING_TOP_CALLERS = 1
    rng = RANGES["1h"]
    now = 1_741_003_630
    end = now // 60 * 60 + 60
    start = end - rng.span - callers.history_for(60)
    n = (end - start) // 60
    stamps = [datetime.fromtimestamp(start + 60 * i, tz=UTC) for i in range(n)]
    region = {"Name": "Region", "Value": "SYD"}
    with Stubber(aws.client("cloudwatch", "ap-southeast-2")) as stub:
        for name in ("CallerReads", "CallerNotFound"):
            listed = [
                {
                    "Namespace": "Tokenizer",
                    "MetricName": name,
                    "Dimensions": [region, {"Name": "Caller", "Value": c}],
                }
                for c in ("client:1", "client:2")
            ]
            asked = {"Namespace": "Tokenizer", "MetricName": name, "Dimensions": [region]}
            stub.add_response("list_metrics", {"Metrics": listed}, asked | {"RecentlyActive": "PT3H"})
        for rate in (1.0, 5.0):  # client:1 then client:2
            results = [
                {"Id": "c0", "Timestamps": stamps, "Values": [rate] * n, "StatusCode": "Complete"},
                {"Id": "c1", "Timestamps": stamps, "Values": [0.0] * n, "StatusCode": "Complete"},
            ]
            stub.add_response("get_metric_data", {"MetricDataResults": results}, None)
        [shown] = callers.top("SYD", rng, now)
        stub.assert_no_pending_responses()
    assert (shown.caller, shown.total) == ("client:2", 5 * 60)


@pytest.mark.django_db
def test_backfill_metrics_gives_a_caller_a_calm_history_for_the_local_demo() -> None:
    out = io.StringIO()
    call_command("backfill_metrics", "--hours", "30", "--caller", "client:1", stdout=out)
    assert "backfilled 1800 minutes of calm reads for client:1" in out.getvalue()
    minute = store.minute_of(time.time())
    # The demo's read loop: 100 reads in one minute now stand out against that history.
    store.add_caller("SYD", "client:1", "reads", minute, 100)
    [finding] = callers.findings("SYD", 3, minute + 61)
    assert (finding.caller, finding.metric, finding.rule, finding.value) == ("client:1", "reads", "band", 100)


@pytest.mark.django_db
def test_backfill_metrics_refuses_what_is_not_a_caller_id() -> None:
    with pytest.raises(CommandError, match="--caller takes an id such as client:1"):
        call_command("backfill_metrics", "--hours", "1", "--caller", MARKER)
