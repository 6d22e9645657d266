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

from tests.test_browser import (  # noqa: F401 (fixtures)
    NEW_PASSWORD,
    SHOTS,
    browser,
    page,
    ready_operator,
    sign_in,
)

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


def with_data_for_the_tables() -> None:
    """Operators, API clients, audit records, metrics and a pending request to fill every table."""
    from django.contrib.auth import get_user_model

    from monitoring import simulator
    from tokens import admin_ops
    from tokens.actors import RequestContext

    cli = RequestContext(channel="cli")
    ready_operator("ann", ["tokenizer", "detokenizer", "ttl_manager", "auditor", "vault_admin"])
    ready_operator("ben", ["vault_admin"])
    ready_operator("carol", ["tokenizer"])
    admin_ops.create_client(None, cli, "payments-service-eu", ["tokenize", "detokenize", "metadata"])
    admin_ops.create_client(None, cli, "reporting", ["metadata", "search"], fields=["card_number"])
    ben = get_user_model().objects.get(username="ben")
    admin_ops.grant_role(ben, cli, "carol", "detokenizer", reason="INC-4411: card dispute backlog", hours=4)
    simulator.backfill("SYD", 3)
    # A detail with a long unbroken run (ids joined without spaces) must wrap in its cell.
    from tokens import audit
    from tokens.actors import ANONYMOUS

    run = ",".join(f"TKN-SYD-{n:08d}-0000-4000-8000-000000000000" for n in range(12))
    audit.record("detokenize", "denied", ANONYMOUS, cli, detail=f"not allowed: {run}")


PHONE_PAGES = {
    # page: a control in its last (action) column, to reach at phone width
    "/": None,
    "/operators": ("button", "Deactivate"),
    "/clients": ("button", "Revoke"),
    "/audit": None,
    "/monitoring/": None,
}


def hidden_sideways(page: Page, boxes: str) -> list[str]:  # noqa: F811
    """The `boxes` whose content is wider than they show, and charts without their y axis in view."""
    return list(
        page.evaluate(
            """(boxes) => {
              const wide = [...document.querySelectorAll(boxes)]
                .filter(e => e.scrollWidth > e.clientWidth + 1)
                .map(e => e.tagName + "." + e.className);
              const charts = [...document.querySelectorAll("main svg.chart, main svg.phone-chart")]
                .filter(svg => svg.getBoundingClientRect().width > 0)
                .filter(svg => {
                  const box = svg.getBoundingClientRect();
                  const axis = svg.querySelector("text.axis").getBoundingClientRect();
                  return box.left < 0 || box.right > window.innerWidth || axis.left < box.left - 1;
                })
                .map(svg => svg.getAttribute("aria-labelledby"));
              return wide.concat(charts);
            }""",
            boxes,
        )
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_tables_and_charts_fit_the_screen_with_their_last_columns_reachable(
    page: Page,  # noqa: F811
    width: int,
) -> None:
    with_data_for_the_tables()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ann")
    for path, control in PHONE_PAGES.items():
        page.goto(path)
        name = path.strip("/").replace("/", "-") or "dashboard"
        shot(page, name, width, full_page=True)
        for n, part in enumerate(page.locator("main section").all()[:4]):
            part.screenshot(path=str(SHOTS / f"ui-edges-{name}-{width}-part{n}.png"))
        assert overflow(page) == 0, f"{path} is wider than the screen"
        # On a phone nothing may hide off to the side; wider, a table may scroll sideways in its box.
        # The audit log's box may not scroll at any width: its long details wrap.
        boxes = "main section, main table, main figure" + (
            ", main .table-wrap" if width < 640 or path == "/audit" else ""
        )
        assert hidden_sideways(page, boxes) == [], f"{path}: something is hidden off to the side"
        for table in page.locator("main table").all():
            last = table.locator("tbody tr").first.locator("td, th").last
            last.scroll_into_view_if_needed()
            box = last.bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, path
        if control is not None:
            button = page.get_by_role(control[0], name=control[1]).first
            button.scroll_into_view_if_needed()
            expect(button).to_be_in_viewport()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_re_authentication_page_names_the_reveal_and_its_token(page: Page, width: int) -> None:  # noqa: F811
    from tests.conftest import totp_code
    from tokens import vault
    from tokens.actors import Actor, RequestContext

    setup = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))
    token = vault.tokenize(setup, RequestContext(channel="cli"), {"card_number": "4111111111111111"}).token_id
    page.set_viewport_size({"width": width, "height": 900})
    ready_operator("rita", ["detokenizer"])
    sign_in(page, "rita")
    with time_machine.travel(time.time() + 400, tick=True):  # past the 5 fresh minutes, not idle yet
        page.goto("/reveal")
        page.get_by_label("Token id").fill(token)
        page.get_by_label("Reason").fill("INC-3100: customer asks which card is on file")
        page.get_by_role("button", name="Reveal").click()
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        expect(page.locator("#reauthentication-purpose")).to_contain_text(
            f"To reveal the values of token {token}, confirm who you are"
        )
        assert "4111111111111111" not in page.content()
        shot(page, "reauthenticate-for-reveal", width)
        page.get_by_role("textbox").fill(totp_code(margin=10))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Revealed values")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_reloading_the_totp_set_up_page_keeps_the_qr_code(page: Page, width: int) -> None:  # noqa: F811
    from allauth.mfa.models import Authenticator

    from tests.conftest import totp_code

    page.set_viewport_size({"width": width, "height": 900})
    ready_operator("tess", ["auditor"])
    Authenticator.objects.filter(user__username="tess").delete()  # not enrolled yet
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill("tess")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    secret = page.locator("#authenticator_secret").input_value()
    qr = page.locator("img[src^='data:image/svg']").get_attribute("src")
    page.reload()
    assert page.locator("#authenticator_secret").input_value() == secret
    assert page.locator("img[src^='data:image/svg']").get_attribute("src") == qr
    shot(page, "totp-set-up-after-reload", width)
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url("/accounts/2fa/recovery-codes/")
