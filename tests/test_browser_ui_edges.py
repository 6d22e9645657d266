"""Rough edges of the walk-through (issue 10, section 4), in Debian's Chromium at
desktop and phone width: the API reference is styled under the site's CSP, charts
and tables fit a phone, the idle sign-out is announced, the re-authentication page
names the reveal it is for, and a reloaded TOTP set-up keeps its QR code.
Screenshots go to test-output/screenshots/ui-edges-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.test_browser import SHOTS, browser, page  # noqa: F401 (fixtures)

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
