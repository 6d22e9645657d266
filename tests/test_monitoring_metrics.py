"""Every vault call through the API is counted, by operation and outcome only."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from monitoring import metrics, store
from monitoring.models import MetricBucket
from tests.conftest import MARKER, Api, make_api
from tokens.models import ApiClient

pytestmark = pytest.mark.django_db


def everything() -> dict[tuple[str, str], int]:
    now = int(time.time())
    return store.totals("SYD", now - 3600, now + 3600)


def exercise(api: Api) -> str:
    """One of each: tokenize, two reveals, an unknown token, a bad request, metadata, delete."""
    token = api.tokenize({"card": MARKER})
    assert api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    unknown = "TKN-SYD-00000000-0000-4000-8000-000000000000"
    assert api.post("/api/v1/detokenize", {"tokenId": unknown}).status_code == 404
    assert api.post("/api/v1/detokenize", {"tokenId": token, "fields": ["nope"]}).status_code == 400
    assert api.get(f"/api/v1/tokens/{token}").status_code == 200
    assert api.delete(f"/api/v1/tokens/{token}").status_code == 204
    return token


def test_a_vault_call_through_the_api_is_counted_by_operation_and_outcome(full_api: Api) -> None:
    exercise(full_api)
    assert everything() == {
        ("tokenize", "success"): 1,
        ("detokenize", "success"): 2,
        ("detokenize", "not_found"): 1,
        ("detokenize", "invalid"): 1,
        ("metadata", "success"): 1,
        ("delete", "success"): 1,
    }


def test_a_refused_call_is_counted_as_denied(db: Any) -> None:
    writer = make_api(["tokenize"], "writer-only")
    token = writer.tokenize({"card": "4111"})
    assert writer.post("/api/v1/detokenize", {"tokenId": token}).status_code == 403
    assert everything()[("detokenize", "denied")] == 1


def test_latency_is_summed_per_bucket(full_api: Api) -> None:
    token = full_api.tokenize({"card": "4111"})
    full_api.post("/api/v1/detokenize", {"tokenId": token})
    row = MetricBucket.objects.get(operation="detokenize", outcome="success")
    assert row.count == 1
    assert 0 < row.latency_ms < 60_000


def test_no_token_id_caller_or_value_reaches_the_local_store(full_api: Api) -> None:
    token = exercise(full_api)
    rows = list(MetricBucket.objects.values("region", "operation", "outcome"))
    assert rows
    for row in rows:
        assert row["region"] == "SYD"
        assert row["operation"] in metrics.OPERATIONS
        assert row["outcome"] in metrics.OUTCOMES
    dumped = json.dumps(list(MetricBucket.objects.values()))
    for secret in (token, token.split("-", 2)[2], MARKER, "full"):
        assert secret not in dumped


def test_emf_lines_carry_only_operation_outcome_and_region(
    full_api: Api, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.METRICS_SINK = "emf"
    capsys.readouterr()
    token = exercise(full_api)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert len(lines) == 7
    per_caller = []
    for line in lines:
        record = json.loads(line)
        directive, *caller_directives = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Tokenizer"
        assert directive["Dimensions"] == [["Operation", "Outcome", "Region"]]
        base = {"_aws", "Operation", "Outcome", "Region", "Count", "Latency"}
        if caller_directives:
            # Reveals and not-found lookups also count per caller: region and caller id only.
            (extra,) = caller_directives
            assert extra["Dimensions"] == [["Region", "Caller"]]
            (name,) = [m["Name"] for m in extra["Metrics"]]
            assert set(record) == base | {"Caller", name}
            assert record["Caller"] == f"client:{ApiClient.objects.get(name='full').pk}"
            per_caller.append((record["Operation"], record["Outcome"], name))
        else:
            assert set(record) == base
        assert record["Operation"] in metrics.OPERATIONS
        assert record["Outcome"] in metrics.OUTCOMES
        assert record["Region"] == "SYD"
        for secret in (token, MARKER, "full"):
            assert secret not in line
    assert sorted(per_caller) == [
        ("detokenize", "not_found", "CallerNotFound"),
        ("detokenize", "success", "CallerReads"),
        ("detokenize", "success", "CallerReads"),
    ]
    assert MetricBucket.objects.count() == 0


def test_a_failing_store_never_fails_the_request(
    full_api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "save_event", broken)
    token = full_api.tokenize({"card": "4111"})
    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert "metric not recorded" in caplog.text


def test_an_unknown_operation_or_outcome_is_dropped(db: Any) -> None:
    metrics.record("TKN-SYD-123", "success", 0.01)
    metrics.record("detokenize", "someone@example.com", 0.01)
    assert MetricBucket.objects.count() == 0
