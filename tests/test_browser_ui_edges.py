"""Rough edges of the walk-through (issue 10, section 4), in Debian's Chromium at
desktop and phone width: the API reference is styled under the site's CSP, charts
and tables fit a phone, the idle sign-out is announced, the re-authentication page
names the reveal it is for, and a reloaded TOTP set-up keeps its QR code.
Screenshots go to test-output/screenshots/ui-edges-*.png."""

from __future__ import annotations

import time

import pytest
import time_machine
from playwright.sync_api import Page, expect

from tests.test_browser import SHOTS, browser, page, ready_operator, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
WIDTHS = [1280, 390]


def shot(page: Page, name: str, width: int, full_page: bool = False) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"ui-edges-{name}-{width}.png"), full_page=full_page)


def overflow(page: Page) -> int:  # noqa: F811
    """How many CSS pixels the page is wider than the viewport (0: nothing sticks out)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_reference_is_styled_under_the_sites_csp(page: Page, width: int) -> None:  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="POST /api/v1/tokens", exact=True)).to_be_visible()
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.body);"
        " return {font: s.fontFamily, width: s.maxWidth,"
        " code: getComputedStyle(document.querySelector('code')).backgroundColor}; }"
    )
    assert style == {"font": "system-ui, sans-serif", "width": "800px", "code": "rgb(244, 244, 244)"}
    assert overflow(page) == 0
    shot(page, "api-docs", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_idle_sign_out_is_announced_before_and_explained_after(page: Page, width: int) -> None:  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    ready_operator("ivy", ["auditor"])
    sign_in(page, "ivy")
    start = time.time()
    page.clock.install(time=start)
    page.goto("/audit")
    warning = page.locator("#idle-warning")
    expect(warning).to_be_hidden()
    with time_machine.travel(start + 810, tick=True):  # 13.5 of the 15 idle minutes
        page.clock.fast_forward(810_000)
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("You will be signed out in 2 minutes without activity.")
        shot(page, "idle-warning", width)
        page.get_by_role("button", name="Stay signed in").click()
        expect(warning).to_be_hidden()
    with time_machine.travel(start + 810 + 960, tick=True):  # then 16 idle minutes
        page.clock.fast_forward(960_000)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.locator("#idle-signed-out")).to_have_text(
            "You were signed out after 15 minutes without activity. Sign in again to go on."
        )
        assert "next=/audit" in page.url.replace("%2F", "/")
        shot(page, "idle-signed-out", width)
