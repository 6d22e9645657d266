"""A person's flows in Debian's Chromium: first sign-in (sign-in link, own
password, TOTP enrolment), tokenize, look up, reveal with a reason, change expiry, read and
verify the audit log, sign out; and the 403 page. Screenshots of every page
go to test-output/screenshots/."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import audit_where, totp_code
from tokens import admin_ops
from tokens.actors import RequestContext

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CARD = "4111 1111 1111 1111"
NEW_PASSWORD = "a-long-fresh-passphrase-77"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop in this thread; Django then refuses
    # ORM calls from it (the test's own setup and the database flush), though they
    # are plain synchronous calls. This is Django's documented escape hatch.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: Any, transactional_db: Any) -> Iterator[Page]:
    from django.core.cache import cache

    restore_roles()
    cache.clear()  # the live server's rate limits and used TOTP codes
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    problems: list[str] = []
    # Console errors are CSP violations, script errors or missing files; the 403
    # page itself is one the browser reports, and is expected where a test asks for it.
    expected = "Failed to load resource: the server responded with a status of 403"
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" and expected not in msg.text else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page
    context.close()
    assert problems == [], f"browser console errors (CSP?): {problems}"


def restore_roles() -> None:
    """The role groups, as migration 0004 makes them: a transactional test's
    flush empties every table, and the live server needs committed data."""
    from django.contrib.auth.models import Group, Permission

    from tokens.roles import ROLES

    for role in ROLES.values():
        group, _ = Group.objects.get_or_create(name=role.name)
        perms = [p.split(".") for p in role.permissions]
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=a, codename=c) for a, c in perms]
        )


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def new_operator(username: str, roles: list[str]) -> str:
    """The path of the new operator's sign-in link (the command line is handed it)."""
    _, invitation = admin_ops.create_operator(None, RequestContext(channel="cli"), username, "", roles)
    return "/" + invitation.link.split("://", 1)[1].split("/", 1)[1]


def test_an_operator_signs_in_enrols_and_works_through_the_vault(page: Page) -> None:
    link = new_operator("olivia", ["tokenizer", "detokenizer", "ttl_manager", "auditor", "vault_admin"])

    page.goto(link)
    expect(page).to_have_url(link.rsplit("/", 2)[0] + "/set-password/")  # the token leaves the address bar
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    shot(page, "02-choose-password-from-link")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    expect(page).to_have_url("/accounts/login/")
    expect(page.get_by_text("Password set. Sign in with it")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("Login").fill("olivia")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    shot(page, "03-enrol-authenticator")
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url("/accounts/2fa/recovery-codes/")
    shot(page, "04-recovery-codes")
    page.get_by_label("I have saved my recovery codes").check()
    page.get_by_role("link", name="Continue to the vault").click()
    expect(page.get_by_role("heading", name="Hello, olivia")).to_be_visible()
    shot(page, "05-dashboard")

    page.get_by_role("link", name="Tokenize").first.click()
    page.get_by_label("Field name 1").fill("card_number")
    page.get_by_label("Value 1").fill(CARD)
    page.get_by_label("Field name 2").fill("cvc")
    page.get_by_label("Value 2").fill("123")
    page.get_by_role("button", name="Add a field").click()
    expect(page.get_by_label("Field name 5")).to_be_visible()
    page.get_by_label("Keep for (days)").fill("30")
    shot(page, "06-tokenize")
    page.get_by_role("button", name="Tokenize", exact=True).click()
    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    token = page.locator("#token").inner_text().strip()
    assert token.startswith("TKN-SYD-")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert CARD not in page.content()
    shot(page, "07-token-created")

    page.goto("/lookup")
    page.get_by_label("Token id").fill(token)
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_text("card_number, cvc")).to_be_visible()
    assert CARD not in page.content()
    shot(page, "08-look-up")

    page.goto("/reveal")
    page.get_by_label("Token id").fill(token)
    page.get_by_label("Reason").fill("INC-2041: customer disputes a charge, confirm the card")
    shot(page, "09-reveal-form")
    page.get_by_role("button", name="Reveal").click()
    expect(page.get_by_role("heading", name="Revealed values")).to_be_visible()
    card_value = page.locator("details.value").first
    expect(card_value.locator("summary")).to_have_text("•••• •••• •••• 1111")
    expect(card_value.locator(".plain")).to_be_hidden()
    shot(page, "10-revealed-masked")
    card_value.locator("summary").click()
    expect(card_value.locator(".plain")).to_have_text(CARD)
    shot(page, "11-revealed-one-field")

    page.goto("/expiry")
    page.get_by_label("Token id").fill(token)
    page.get_by_role("button", name="Find").click()
    shot(page, "12-expiry")
    new_expiry = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 90 * 86400))
    page.get_by_label("Expires at (UTC)").fill(new_expiry)
    page.get_by_role("button", name="Save new expiry").click()
    expect(page.get_by_text("The new expiry is saved.")).to_be_visible()
    expect(page.get_by_text(new_expiry.replace("T", " ") + " UTC")).to_be_visible()
    shot(page, "13-expiry-changed")
    page.get_by_role("button", name="Purge…").click()
    expect(page.get_by_role("heading", name="Purge this token?")).to_be_visible()
    shot(page, "14-purge-confirm")
    page.get_by_role("link", name="Cancel").click()

    page.goto("/audit")
    table = page.locator("table")
    for action in (
        "tokenize",
        "metadata",
        "detokenize",
        "change_expiry",
        "mfa_added",
        "password_set",
        "sign_in",
    ):
        expect(table.get_by_role("cell", name=action, exact=True).first).to_be_visible()
    expect(page.get_by_text("INC-2041: customer disputes a charge, confirm the card")).to_be_visible()
    assert CARD not in page.content()
    shot(page, "15-audit-log")
    page.get_by_label("Action").select_option("detokenize")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="1 record from")).to_be_visible()
    shot(page, "16-audit-log-filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    assert CARD not in Path(download.value.path()).read_text()
    page.get_by_role("link", name="Verify the whole chain now").click()
    expect(page.get_by_text("Intact:")).to_be_visible()
    shot(page, "17-audit-verified")

    page.goto("/operators")
    shot(page, "18-operators")
    page.goto("/clients")
    page.get_by_label("Name").fill("payments-api")
    page.get_by_label("tokenize", exact=True).check()
    page.get_by_role("button", name="Create client").click()
    expect(page.locator("#key-value")).to_contain_text("tvk_")
    shot(page, "19-api-client-key-once")

    from monitoring import simulator

    simulator.backfill("SYD", 6)
    page.goto("/monitoring/?range=24h")
    expect(page.get_by_role("heading", name="Alarm state")).to_be_visible()
    expect(page.get_by_text("Detokenize successes").first).to_be_visible()
    assert page.locator("svg path.band").count() >= 2
    shot(page, "22-monitoring")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/accounts/login/")
    assert [r["action"] for r in audit_where(actor="olivia")][-1] == "sign_out"


def test_an_operator_without_the_role_gets_the_403_page(page: Page) -> None:
    new_operator("tom", ["tokenizer"])
    from django.contrib.auth import get_user_model

    from tokens.models import OperatorAccount

    user = get_user_model().objects.get(username="tom")
    password = NEW_PASSWORD
    user.set_password(password)
    user.save()
    OperatorAccount.objects.filter(user=user).update(must_change_password=False)
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.conftest import TOTP_SECRET

    TOTP.activate(user, TOTP_SECRET)

    page.goto("/accounts/login/")
    page.get_by_label("Login").fill("tom")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/accounts/2fa/authenticate/")
    shot(page, "20-sign-in-code")
    page.get_by_label("Code").fill(totp_code(margin=10))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Hello, tom")).to_be_visible()

    page.goto("/reveal")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, "21-forbidden")
    [refused] = audit_where(action="page_forbidden", actor="tom")
    assert refused["detail"] == "GET pages:reveal"
    assert os.path.exists(SHOTS / "21-forbidden.png")


def ready_operator(username: str, roles: list[str]) -> None:
    """An operator past first sign-in: own password, TOTP enrolled."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth import get_user_model

    from tests.conftest import TOTP_SECRET
    from tokens.models import OperatorAccount

    new_operator(username, roles)
    user = get_user_model().objects.get(username=username)
    user.email = f"{username}@example.org"
    user.set_password(NEW_PASSWORD)
    user.save()
    OperatorAccount.objects.filter(user=user).update(must_change_password=False)
    TOTP.activate(user, TOTP_SECRET)


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill(username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(totp_code(margin=10))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name=f"Hello, {username}")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_time_boxed_grant_is_asked_for_with_a_reason_and_approved_with_a_comment(
    page: Page, browser: Browser, live_server: Any, width: int
) -> None:
    from django.core import mail

    for name, held in (("ann", ["vault_admin"]), ("ben", ["vault_admin"]), ("cat", ["auditor"])):
        ready_operator(name, held)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ann")
    page.goto("/operators")
    row = page.locator("tr", has=page.get_by_text("cat@example.org"))
    row.get_by_label("Grant", exact=True).select_option("detokenizer")
    row.get_by_label("for hours").fill("4")
    row.get_by_label("grant reason").fill("INC-7: chargeback review needs card checks")
    row.get_by_role("button", name="Grant").click()
    expect(
        page.get_by_text("Asked for detokenizer for cat; another vault admin must approve it")
    ).to_be_visible()
    shot(page, f"23-request-asked-{width}")
    assert [m.to for m in mail.outbox] == [["ben@example.org"]]

    second = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    ben = second.new_page()
    sign_in(ben, "ben")
    expect(ben.get_by_text("ann asks to grant")).to_be_visible()
    shot(ben, f"24-dashboard-pending-{width}")
    ben.get_by_role("link", name="Decide on the Operators page").click()
    ben.get_by_label("Comment").fill("incident open, checked with ann")
    ben.get_by_role("button", name="Approve").click()
    expect(ben.get_by_text("Approved: granted detokenizer to cat for 4 hours.")).to_be_visible()
    expect(ben.get_by_text("until", exact=False).first).to_be_visible()
    shot(ben, f"25-operators-time-boxed-{width}")
    second.close()
