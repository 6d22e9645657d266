"""The rough edges of the walk-through (issue 10, section 4), in Chromium at
1280 and 390 px: the audit filter in the pages' words, refusals in plain words
with the form kept, a double click on "Purge now", the greyed-out detokenize
scope, a 403 page that says what happened, the Operators page's pending roles,
one date format and a date mask without digits. Screenshots go to
test-output/screenshots/ (names starting "rough-")."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import audit_where, totp_code
from tests.test_browser import NEW_PASSWORD, browser, ready_operator, restore_roles, shot  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = [1280, 390]
CARD = "4111 1111 1111 1111"
DOB = "1984-07-23"
# Refusals these tests ask for: the browser reports each as a failed resource.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (400|403|404)")


@pytest.fixture
def page(browser: Browser, live_server: Any, transactional_db: Any) -> Iterator[Page]:  # noqa: F811
    """As tests/test_browser.py's page, but 400 and 404 answers are expected here too."""
    from django.core.cache import cache

    restore_roles()
    cache.clear()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not EXPECTED_STATUS.search(msg.text)
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page
    context.close()
    assert problems == [], f"browser console errors (CSP?): {problems}"


def sign_in(page: Page, username: str) -> None:
    """tests/test_browser.py's sign-in, once more in the next 30-second window if the
    code was spent already (every test operator shares one TOTP secret)."""
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill(username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for attempt in range(2):
        page.get_by_label("Code").fill(totp_code(margin=10))
        page.get_by_role("button", name="Sign In").click()
        hello = page.get_by_role("heading", name=f"Hello, {username}")
        try:
            expect(hello).to_be_visible(timeout=3000)
            return
        except AssertionError:
            if attempt:
                raise
            time.sleep(30 - time.time() % 30 + 0.5)


def at_width(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


def fits(page: Page) -> None:
    """Nothing wider than the window (no sideways scrolling of the whole page)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", WIDTHS)
def test_tokenize_reveal_and_expiry_speak_plain_words_and_keep_the_form(page: Page, width: int) -> None:
    ready_operator("ivy", ["tokenizer", "detokenizer", "ttl_manager", "auditor"])
    at_width(page, width)
    sign_in(page, "ivy")

    page.goto("/tokenize")
    expect(page.get_by_text("Limits: up to 32 fields per token")).to_be_visible()
    page.get_by_label("Field name 1").fill("card_number")
    page.get_by_label("Value 1").fill("4111 1111")
    page.get_by_label("Field name 2").fill("date_of_birth")
    page.get_by_label("Value 2").fill(DOB)
    page.get_by_role("button", name="Tokenize", exact=True).click()
    expect(page.get_by_text("Field “card_number”: a card number has 12 to 19 digits.")).to_be_visible()
    expect(page.get_by_label("Field name 2")).to_have_value("date_of_birth")  # names kept
    expect(page.get_by_label("Value 1")).to_have_value("")  # values never come back
    assert DOB not in page.content()
    fits(page)
    shot(page, f"rough-tokenize-refused-{width}")

    page.get_by_label("Value 1").fill(CARD)
    page.get_by_label("Value 2").fill(DOB)
    page.get_by_role("button", name="Tokenize", exact=True).click()
    token = page.locator("#token").inner_text().strip()
    expect(page.get_by_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$"))).to_be_visible()

    page.goto("/reveal")
    page.get_by_label("Token id").fill(token)
    page.get_by_label("Reason").fill("INC-77: confirm the customer's date of birth")
    page.get_by_role("button", name="Reveal").click()
    dob = page.locator("details.value", has=page.locator("summary[aria-label^='date_of_birth']"))
    expect(dob.locator("summary")).to_have_text("••••-••-••")
    shot(page, f"rough-revealed-date-mask-{width}")

    page.goto("/expiry")
    page.get_by_label("Token id").fill(token)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("(400 days from its creation, the longest a token may live)")).to_be_visible()
    # A page left open past its limits (the browser's own min/max no longer hold).
    page.locator("#expires").evaluate("e => { e.removeAttribute('min'); e.removeAttribute('max'); }")
    past = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 86400))
    page.get_by_label("Expires at (UTC)").fill(past)
    page.get_by_role("button", name="Save new expiry").click()
    expect(page.get_by_text("The new expiry is in the past: pick a later time.")).to_be_visible()
    expect(page.get_by_label("Expires at (UTC)")).to_have_value(past)  # the form stayed, as typed
    expect(page.get_by_role("button", name="Purge…")).to_be_visible()
    fits(page)
    shot(page, f"rough-expiry-refused-{width}")

    page.get_by_role("button", name="Purge…").click()
    # The same confirmation open twice (a second tab, a resend): the second "Purge now"
    # reaches the server after the first has purged.
    again = page.context.new_page()
    again.set_viewport_size({"width": width, "height": 900})
    again.goto("/expiry")
    again.get_by_label("Token id").fill(token)
    again.get_by_role("button", name="Find").click()
    again.get_by_role("button", name="Purge…").click()
    page.get_by_role("button", name="Purge now").dblclick()
    expect(page.get_by_role("heading", name=re.compile(r"^(Purged|Already purged)$"))).to_be_visible()
    assert "No such token" not in page.content()
    outcomes = [r["outcome"] for r in audit_where(action="delete", actor="ivy")]
    assert outcomes[0] == "success" and set(outcomes[1:]) <= {"not_found", "error"}
    if len(outcomes) > 1:  # the second click reached the server: its answer is the one shown
        expect(page.get_by_role("heading", name="Already purged")).to_be_visible()
    shot(page, f"rough-purged-after-double-click-{width}")
    again.get_by_role("button", name="Purge now").click()
    expect(again.get_by_role("heading", name="Already purged")).to_be_visible()
    expect(again.get_by_text("You purged token")).to_be_visible()
    shot(again, f"rough-already-purged-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_filter_lists_actions_in_the_pages_words(page: Page, width: int) -> None:
    ready_operator("aud", ["auditor", "tokenizer"])
    at_width(page, width)
    sign_in(page, "aud")
    page.goto("/audit")
    page.get_by_label("Action").select_option(label="Sign in (sign_in)")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name=re.compile(r"^1 record from"))).to_be_visible()
    expect(page.get_by_label("Action")).to_have_value("sign_in")
    page.goto("/audit?action=reveal")
    expect(page.get_by_label("Action")).to_have_value("detokenize")
    expect(page.get_by_text("No records match.")).to_be_visible()
    fits(page)
    shot(page, f"rough-audit-filter-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_pages_say_what_happened_and_keep_forms(page: Page, width: int) -> None:
    ready_operator("ada", ["vault_admin"])
    ready_operator("ben", ["vault_admin"])
    ready_operator("cat", ["auditor"])
    ready_operator("dan", ["tokenizer", "detokenizer", "ttl_manager", "auditor", "vault_admin"])
    at_width(page, width)
    sign_in(page, "ada")

    page.goto("/clients")
    box = page.get_by_role("checkbox", name="detokenize (command line only)")
    expect(box).to_be_disabled()
    expect(page.get_by_text("Only the command line grants it")).to_be_visible()
    fits(page)
    shot(page, f"rough-clients-detokenize-disabled-{width}")

    page.goto("/operators")
    cat = page.locator("tr", has=page.get_by_text("cat@example.org"))
    cat.get_by_label("Grant", exact=True).select_option("detokenizer")
    cat.get_by_label("grant reason").fill("short")
    cat.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Reason: write at least 10 characters.")).to_be_visible()
    cat = page.locator("tr", has=page.get_by_text("cat@example.org"))
    expect(cat.get_by_label("grant reason")).to_have_value("short")
    cat.get_by_label("grant reason").fill("INC-8: chargeback review")
    cat.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Asked for detokenizer for cat")).to_be_visible()
    cat = page.locator("tr", has=page.get_by_text("cat@example.org"))
    expect(cat.get_by_text("pending: not granted until another vault admin approves")).to_be_visible()
    expect(cat.get_by_label("Grant", exact=True).locator("option[value=detokenizer]")).to_have_count(0)
    dan = page.locator("tr", has=page.get_by_text("dan@example.org"))
    expect(dan.get_by_text("Holds every role: nothing more to grant.")).to_be_visible()
    shot(page, f"rough-operators-pending-{width}")

    page.goto("/reveal")
    expect(page.get_by_text("This page needs the detokenizer role. You hold vault_admin.")).to_be_visible()
    expect(page.get_by_text("ask another vault admin to grant you the detokenizer role")).to_be_visible()
    shot(page, f"rough-403-missing-role-{width}")

    cat_id = _user_id("cat")
    page.goto(f"/admin/auth/user/{cat_id}/change/")
    page.get_by_role("link", name="Reset password").click()
    expect(page).to_have_url(re.compile(rf"/operators#operator-{cat_id}$"))
    expect(page.get_by_text("Passwords are never set for someone else. To reset cat")).to_be_visible()
    shot(page, f"rough-admin-reset-pointer-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_expired_form_says_reload(page: Page, width: int) -> None:
    ready_operator("tim", ["tokenizer"])
    at_width(page, width)
    sign_in(page, "tim")
    page.goto("/tokenize")
    # As after a long pause: the token in the form no longer matches the session's.
    page.locator("main form input[name=csrfmiddlewaretoken]").first.evaluate(
        "e => { e.value = 'x'.repeat(64); }"
    )
    page.get_by_label("Field name 1").fill("note")
    page.get_by_label("Value 1").fill("x")
    page.get_by_role("button", name="Tokenize", exact=True).click()
    expect(page.get_by_role("heading", name="Form expired")).to_be_visible()
    expect(page.get_by_text("Reload the page")).to_be_visible()
    assert "grant" not in page.locator("main").inner_text()
    shot(page, f"rough-403-form-expired-{width}")


def _user_id(username: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=username).pk)
