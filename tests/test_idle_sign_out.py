"""After the idle timeout the sign-in page says why one landed there; pages carry
what vault.js needs to warn before it (no inline script)."""

from __future__ import annotations

import re
import time
from typing import Any

import time_machine
from django.conf import settings

from tests.conftest import fresh_client

IDLE_NOTE = "You were signed out after 15 minutes without activity."


def test_after_the_idle_timeout_the_sign_in_page_says_why(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    start = time.time()
    with time_machine.travel(start, tick=False):
        assert client.get("/audit").status_code == 200
    with time_machine.travel(start + settings.SESSION_COOKIE_AGE + 5, tick=False):
        sent = client.get("/audit")
        assert sent.status_code == 302 and sent["Location"].startswith("/accounts/login/")
        page = client.get(sent["Location"]).content.decode()
        assert IDLE_NOTE in page
        # Said once: a reload of the sign-in page, or a wrong password, does not repeat it.
        assert IDLE_NOTE not in client.get("/accounts/login/").content.decode()


def test_activity_keeps_the_operator_signed_in_and_no_note_is_shown(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    start = time.time()
    for step in range(1, 4):  # a request every 10 minutes, for 30 minutes
        with time_machine.travel(start + step * 600, tick=False):
            assert client.get("/audit").status_code == 200


def test_signing_out_on_purpose_shows_no_idle_note(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    start = time.time()
    with time_machine.travel(start, tick=False):
        client.get("/audit")
        out = client.post("/accounts/logout/")
        assert out.status_code == 302
    with time_machine.travel(start + settings.SESSION_COOKIE_AGE + 5, tick=False):
        assert IDLE_NOTE not in client.get("/accounts/login/").content.decode()


def test_a_first_visit_shows_no_idle_note(db: Any) -> None:
    from django.test import Client

    assert IDLE_NOTE not in Client().get("/accounts/login/").content.decode()


def test_pages_carry_the_idle_limit_for_the_warning_and_no_inline_script(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    response = client.get("/audit")
    html = response.content.decode()
    body = re.search(r"<body([^>]*)>", html)
    assert body is not None
    assert f'data-idle-seconds="{settings.SESSION_COOKIE_AGE}"' in body.group(1)
    assert 'data-idle-ping="/accounts/2fa/"' in body.group(1)
    assert 'id="idle-warning" role="status" hidden' in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/tokens/vault.js" defer>']
    cookie = response.cookies["vault_active"]
    assert re.fullmatch(r"\d+:[^;]+", cookie.value) and int(cookie.value.split(":")[0]) <= time.time()
    assert not cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_function_without_pages_ignores_a_stale_activity_cookie(db: Any, settings: Any) -> None:
    """A writer or reader function routes no sign-in page: a stale cookie must not break its 404."""
    import types

    from django.http import HttpResponse
    from django.test import Client
    from django.urls import clear_url_caches

    from tokens.pages.middleware import ACTIVE_COOKIE, ACTIVE_SALT
    from vaultsite import urls

    signed = HttpResponse()
    signed.set_signed_cookie(ACTIVE_COOKIE, str(int(time.time()) - 3600), salt=ACTIVE_SALT)
    client = Client()
    client.cookies[ACTIVE_COOKIE] = signed.cookies[ACTIVE_COOKIE].value
    writer = types.ModuleType("writer_urls")
    writer.urlpatterns = urls.urls_for("writer")  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = writer
    clear_url_caches()
    try:
        assert client.get("/no-such-page").status_code == 404
    finally:
        clear_url_caches()
