"""The monitoring page in Chromium: a use of a honeytoken is shown at the top,
naming the caller, on a wide and a narrow screen. Screenshots go to
test-output/screenshots/."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.conftest import make_api
from tests.test_browser import browser, page, ready_operator, shot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_a_used_honeytoken_is_shown_at_the_top_of_the_monitoring_page(page: Page, width: int) -> None:  # noqa: F811
    out = io.StringIO()
    call_command("plant_honeytokens", "--count", "1", stdout=out)
    decoy = out.getvalue().splitlines()[-1]
    thief = make_api(["detokenize"], "billing-export")
    assert thief.post("/api/v1/detokenize", {"tokenId": decoy}).status_code == 200

    ready_operator("ada", ["auditor"])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ada")
    page.goto("/monitoring/")

    alert = page.get_by_role("alert").filter(has_text="Honeytoken used")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("(billing-export)")
    expect(alert).to_contain_text(f"detokenize of decoy token {decoy} via api")
    first = page.locator(".monitoring section").first
    expect(first).to_have_class("honeytokens")
    heading = page.get_by_role("heading", name="Honeytoken used")
    alarm_state = page.get_by_role("heading", name="Alarm state")
    top = heading.bounding_box()
    below = alarm_state.bounding_box()
    assert top is not None and below is not None and top["y"] < below["y"]
    # Nothing spills sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"30-monitoring-honeytoken-{width}")

    alert.get_by_role("link", name="audit records").click()
    assert "outcome=honeytoken" in page.url
    expect(page.get_by_role("cell", name="honeytoken").first).to_be_visible()
