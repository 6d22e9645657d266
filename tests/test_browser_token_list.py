"""The token list in Debian's Chromium: an operator finds recent tokens, filters
them by creator and day, and goes from a row to look up, reveal, change expiry
and purge without pasting an id. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import Page, expect

from tests.conftest import CARD_MARKER, make_api
from tests.test_browser import browser, page, ready_operator, shot, sign_in  # noqa: F401 (fixtures)
from tokens.models import ApiClient

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_an_operator_works_from_the_token_list(page: Page, width: int) -> None:  # noqa: F811
    billing = make_api(["tokenize"], "billing-service")
    crm = make_api(["tokenize"], "crm-service")
    now = time.time()
    with time_machine.travel(now - 3, tick=False):  # one second apart: a clear newest first
        older = billing.tokenize({"card_number": CARD_MARKER, "cvc": "123"})
    with time_machine.travel(now - 2, tick=False):
        crm.tokenize({"passport": "PA1234567"})
    with time_machine.travel(now - 1, tick=False):
        newest = billing.tokenize({"ssn": "078-05-1120"})
    ready_operator("petra", ["tokenizer", "detokenizer", "ttl_manager"])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "petra")

    page.get_by_role("link", name="Tokens", exact=True).click()
    expect(page.get_by_role("heading", name="Tokens", exact=True)).to_be_visible()
    rows = page.locator("table.token-list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(newest)
    expect(rows.first).to_contain_text("billing-service")
    expect(rows.nth(2)).to_contain_text("card_number, cvc")
    # Every action of a row is on screen at phone width too (once scrolled to: a
    # phone shows each row as a card, and the first may start below the fold).
    rows.first.scroll_into_view_if_needed()
    for action in ("Look up", "Reveal", "Change expiry of", "Purge"):
        expect(rows.first.get_by_role("button", name=f"{action} {newest}")).to_be_in_viewport()
    assert CARD_MARKER not in page.content()
    shot(page, f"30-token-list-{width}")

    page.get_by_label("Created by").select_option(label="billing-service")
    page.get_by_label("Created on (UTC)").fill(datetime.now(UTC).date().isoformat())
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)
    assert f"created_by=client%3A{ApiClient.objects.get(name='billing-service').pk}&" in page.url
    assert "TKN" not in page.url
    shot(page, f"31-token-list-filtered-{width}")

    rows.nth(1).get_by_role("button", name=f"Change expiry of {older}").click()
    expect(page.get_by_role("heading", name="New expiry")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(older)
    page.go_back()

    rows.nth(1).get_by_role("button", name=f"Reveal {older}").click()
    expect(page.get_by_label("Token id")).to_have_value(older)
    expect(page.get_by_label("Reason")).to_be_empty()
    assert CARD_MARKER not in page.content()
    shot(page, f"32-reveal-from-list-{width}")
    page.go_back()

    rows.first.get_by_role("button", name=f"Purge {newest}").click()
    expect(page.get_by_role("heading", name="Purge this token?")).to_be_visible()
    page.get_by_role("button", name="Purge now").click()
    page.get_by_role("link", name="Tokens", exact=True).click()
    expect(rows).to_have_count(2)
    expect(page.locator("table.token-list")).not_to_contain_text(newest)
    shot(page, f"33-token-list-after-purge-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_an_operator_finds_tokens_by_value_in_the_token_list(page: Page, width: int) -> None:  # noqa: F811
    billing = make_api(["tokenize"], "billing-service")
    now = time.time()
    with time_machine.travel(now - 3, tick=False):
        older = billing.tokenize({"card_number": CARD_MARKER, "cvc": "123"})
    with time_machine.travel(now - 2, tick=False):
        other = billing.tokenize({"card_number": "4111 1111 1111 1111"})
    with time_machine.travel(now - 1, tick=False):
        newest = billing.tokenize({"card_number": CARD_MARKER})
    ready_operator("petra", ["tokenizer", "detokenizer"])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "petra")

    page.get_by_role("link", name="Tokens", exact=True).click()
    page.get_by_text("Find by value", exact=True).click()  # folded away until asked for
    # (A refused value is tested in tests/test_token_list_by_value.py: the page
    # fixture here counts the browser's report of a 400 as an error.)
    page.get_by_label("Field name").fill("card_number")
    page.get_by_label("Value", exact=True).fill(CARD_MARKER)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="2 tokens with that card_number")).to_be_visible()
    rows = page.locator("table.token-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(newest)
    expect(rows.nth(1)).to_contain_text("card_number, cvc")
    expect(page.locator("table.token-list")).not_to_contain_text(other)
    rows.first.scroll_into_view_if_needed()
    for action in ("Look up", "Reveal"):
        expect(rows.first.get_by_role("button", name=f"{action} {newest}")).to_be_in_viewport()
    expect(rows.first.get_by_role("button", name=f"Purge {newest}")).to_have_count(0)
    expect(page.get_by_label("Value", exact=True)).to_be_empty()
    expect(page.get_by_label("Field name")).to_have_value("card_number")
    assert "4973" not in page.content() and "4973" not in page.url
    shot(page, f"35-token-list-by-value-{width}")

    rows.nth(1).get_by_role("button", name=f"Reveal {older}").click()
    expect(page.get_by_label("Token id")).to_have_value(older)
    assert "4973" not in page.content()
