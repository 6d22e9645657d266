"""simulate_traffic drives the real JSON API over HTTP; backfill_metrics fills the local store."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from monitoring import store
from tests.conftest import make_api

SCOPES = ["tokenize", "detokenize"]


def simulate(server: Any, key: str, *args: str) -> str:
    out = io.StringIO()
    call_command("simulate_traffic", "--url", server.url, "--key", key, *args, stdout=out)
    return out.getvalue()


def counted() -> dict[tuple[str, str], int]:
    now = int(time.time())
    return store.totals("SYD", now - 600, now + 600)


@pytest.mark.django_db(transaction=True)
def test_the_read_loop_reads_one_token_a_hundred_times(live_server: Any) -> None:
    key = make_api(SCOPES).key
    assert key
    out = simulate(live_server, key, "--scenario", "read-loop")
    assert out == "read-loop: 100 x detokenize 200\n"
    assert counted() == {("tokenize", "success"): 1, ("detokenize", "success"): 100}


@pytest.mark.django_db(transaction=True)
def test_the_enumeration_asks_for_tokens_that_do_not_exist(live_server: Any) -> None:
    key = make_api(SCOPES).key
    assert key
    assert simulate(live_server, key, "--scenario", "enumeration", "--count", "20") == (
        "enumeration: 20 x detokenize 404\n"
    )
    assert simulate(live_server, key, "--scenario", "enumeration", "--count", "5", "--token", "zzzz") == (
        "enumeration: 5 x detokenize 404\n"
    )
    assert counted() == {("detokenize", "not_found"): 25}


@pytest.mark.django_db(transaction=True)
def test_the_baseline_writes_once_and_reads_a_known_token_once_a_tick(live_server: Any) -> None:
    key = make_api(SCOPES).key
    assert key
    out = simulate(live_server, key, "--scenario", "baseline", "--minutes", "3", "--interval", "0")
    assert out == "baseline: 3 x detokenize 200, 3 x tokenize 201\n"
    assert counted() == {("tokenize", "success"): 4, ("detokenize", "success"): 3}


@pytest.mark.django_db(transaction=True)
def test_a_key_without_the_tokenize_scope_is_explained(live_server: Any) -> None:
    key = make_api(["detokenize"]).key
    assert key
    with pytest.raises(CommandError, match=r"tokenize answered 403 \(forbidden\)"):
        simulate(live_server, key, "--scenario", "read-loop")


def test_an_unreachable_vault_is_explained() -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="cannot reach http://127.0.0.1:9"):
        call_command(
            "simulate_traffic",
            "--scenario",
            "read-loop",
            "--url",
            "http://127.0.0.1:9",
            "--key",
            "k",
            stdout=out,
        )


@pytest.mark.django_db
def test_the_backfill_fills_the_hours_before_now_once() -> None:
    out = io.StringIO()
    call_command("backfill_metrics", "--hours", "2", stdout=out)
    assert out.getvalue().startswith("SYD: backfilled 120 minutes (")
    now = store.minute_of(time.time())
    reads = store.counts("SYD", ["detokenize"], ["success"], now - 7200, now, 60)
    assert all(r >= 1 for r in reads)  # the seed's one read a minute, plus a little noise
    again = io.StringIO()
    call_command("backfill_metrics", "--hours", "2", stdout=again)
    assert re.match(r"SYD: backfilled [01] minutes", again.getvalue())  # [1]: the clock moved on a minute
    assert store.counts("SYD", ["detokenize"], ["success"], now - 7200, now, 60) == reads


@pytest.mark.django_db
def test_the_backfill_is_for_the_local_store_only(settings: Any) -> None:
    settings.METRICS_SINK = "emf"
    with pytest.raises(CommandError, match="needs METRICS_SINK=db"):
        call_command("backfill_metrics")
