"""The alarm state on the monitoring page is a property of now, not of the range drawn."""

from __future__ import annotations

import io
import re
import time

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from monitoring import simulator, store
from tests.test_monitoring_page import auditor  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

BURST = 12  # far above a minute's band, not above an hour's
STATE = re.compile(r'<span class="state state-[a-z_-]+">([^<]+)</span>')


def states(client: Client, range_key: str) -> list[str]:
    """The built-in detector's state of detokenize successes, then failures (search volume,
    also alerting, comes after them)."""
    return STATE.findall(client.get(f"/monitoring/?range={range_key}").content.decode())[:2]


def with_burst_of_failures() -> int:
    """A day of the seed's baseline, then BURST failed detokenizes in one minute; returns that minute."""
    minute = store.minute_of(time.time())
    simulator.backfill("SYD", 24, now=minute + 7200)  # baseline before and after the burst
    store.add("SYD", "detokenize", "not_found", minute, BURST, 100.0)
    return minute


def test_a_burst_puts_the_metric_in_alarm_in_every_time_range_at_the_same_moment(
    auditor: Client,  # noqa: F811
) -> None:
    minute = with_burst_of_failures()
    with time_machine.travel(minute + 90, tick=False):
        seen = {key: states(auditor, key) for key in ("1h", "24h", "7d")}
    assert seen == {key: ["OK", "In alarm"] for key in ("1h", "24h", "7d")}


def test_the_state_judges_the_last_few_finished_minutes_then_returns_to_ok(
    auditor: Client,  # noqa: F811
) -> None:
    minute = with_burst_of_failures()
    window = 5
    with time_machine.travel(minute + 60 * window + 30, tick=False):  # the burst is the oldest judged
        assert states(auditor, "7d") == ["OK", "In alarm"]
    with time_machine.travel(minute + 60 * (window + 1) + 30, tick=False):  # now out of the window
        assert states(auditor, "1h") == ["OK", "OK"]
        assert states(auditor, "7d") == ["OK", "OK"]


def test_a_burst_in_the_running_minute_is_judged_by_page_and_command_once_it_ends(
    auditor: Client,  # noqa: F811
) -> None:
    minute = with_burst_of_failures()
    store.add("SYD", "detokenize", "not_found", minute + 600, 100, 100.0)
    with time_machine.travel(minute + 600 + 20, tick=False):  # the minute is still running
        assert states(auditor, "1h") == ["OK", "OK"]
        out = io.StringIO()
        call_command("check_anomalies", stdout=out)
        assert "every alerting metric is inside its band" in out.getvalue()
        assert "the minute running now is judged once it ends" in out.getvalue()
    with time_machine.travel(minute + 660 + 20, tick=False):
        assert states(auditor, "1h") == ["OK", "In alarm"]
        out = io.StringIO()
        call_command("check_anomalies", stdout=out)
        assert "SYD detokenize-failure: 100 above band" in out.getvalue()
