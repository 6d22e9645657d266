"""The monitoring page's top callers in Debian's Chromium, at desktop and phone widths:
each caller's own graphs and bands, the one out of its band marked, and its
audit records one click away. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.test_browser import SHOTS, browser, page, ready_operator, shot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def caller_traffic() -> None:
    """A day and a half of calm reads for an API client and an operator; the client
    then reads ten times its norm, and asks for a few missing tokens."""
    from monitoring import store

    minute = store.minute_of(time.time())
    start = minute - 36 * 3600
    store.add_caller_many(("SYD", "client:3", "reads", m, 3) for m in range(start, minute, 60))
    store.add_caller_many(("SYD", "user:5", "reads", m, 1) for m in range(start, minute, 600))
    store.add_caller("SYD", "client:3", "reads", minute - 120, 90)
    store.add_caller("SYD", "client:3", "not_found", minute - 300, 2)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_auditor_sees_the_top_callers_and_opens_the_flagged_ones_audit_records(
    page: Page,  # noqa: F811
    width: int,
) -> None:
    ready_operator("cato", ["auditor"])
    caller_traffic()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "cato")
    page.goto("/monitoring/")
    section = page.locator("#callers")
    expect(section.get_by_role("heading", name="Top callers")).to_be_visible()
    client = page.locator("#caller-client-3")
    operator = page.locator("#caller-user-5")
    expect(client.get_by_role("heading", name="API client client:3")).to_be_visible()
    expect(operator.get_by_role("heading", name="Operator user:5")).to_be_visible()
    expect(client.get_by_text("In alarm")).to_be_visible()
    expect(operator.get_by_text("In alarm")).to_have_count(0)
    assert client.locator("svg.chart").count() == 2 and operator.locator("svg.chart").count() == 2
    assert client.locator("svg path.band").count() >= 1
    assert client.locator("svg circle.anomaly").count() >= 1
    section.scroll_into_view_if_needed()
    shot(page, f"30-monitoring-top-callers-{width}")
    section.screenshot(path=str(SHOTS / f"30-top-callers-section-{width}.png"))
    # The card fits the width: no sideways scroll of the page itself.
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1

    client.get_by_role("link", name="Audit records of client:3").click()
    expect(page).to_have_url(re.compile(r"/audit\?actor=client%3A3&action=detokenize&outcome=success"))
    expect(page.get_by_label("Actor (name or id)")).to_have_value("client:3")
    shot(page, f"31-audit-filtered-to-caller-{width}")


def test_a_caller_named_in_an_alert_is_shown_first(page: Page, live_server: Any) -> None:  # noqa: F811
    ready_operator("cleo", ["auditor"])
    caller_traffic()
    sign_in(page, "cleo")
    page.goto("/monitoring/?region=SYD&range=1h&caller=client:77")
    first = page.locator("#callers article").first
    expect(first.get_by_role("heading", name="API client client:77")).to_be_visible()
