"""CSP, framing, cookies, CSRF and caching on the operator pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import audit_where, fresh_client, make_operator

PAGES = ["/", "/tokenize", "/lookup", "/reveal", "/expiry", "/audit", "/operators", "/clients"]


@pytest.mark.parametrize("path", PAGES + ["/accounts/login/"])
def test_every_page_has_a_strict_policy_and_no_inline_code(path: str, operators: dict[str, Any]) -> None:
    client = fresh_client(operators["everyone"]) if path != "/accounts/login/" else Client()
    response = client.get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page), "inline style or handler"


def test_forms_need_a_csrf_token_and_a_refusal_is_audited(operators: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operators["tokenizer"])
    response = client.post("/tokenize", {"name": ["a"], "value": ["b"]})
    assert response.status_code == 403
    assert b"The form had expired or came from elsewhere" in response.content
    assert audit_where(action="page_forbidden")[-1]["detail"].endswith("CSRF check failed")
    assert audit_where(action="tokenize") == []


def test_every_form_on_the_pages_carries_a_csrf_token(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["everyone"])
    for path in PAGES:
        page = client.get(path).content.decode()
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S):
            assert "csrfmiddlewaretoken" in form, path


def test_cookies_are_http_only_same_site_and_secure_outside_development(clean_cache: None) -> None:
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == settings.CSRF_COOKIE_SAMESITE == "Strict"
    make_operator("lee", ("auditor",))
    client = Client()
    client.post("/accounts/login/", {"login": "lee", "password": "correct-horse-battery-9"})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"


def test_production_settings_turn_on_secure_cookies_and_hsts() -> None:
    import subprocess
    import sys

    code = (
        "from vaultsite import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.X_FRAME_OPTIONS)"
    )
    env = {"SECRET_KEY": "x", "API_KEY_PEPPER": "x", "AUDIT_HMAC_KEY": "x", "PATH": "/usr/bin:/bin"}
    env["VAULT_LOCAL_ENV"] = ""  # not make run's DEBUG settings, should one be up in this checkout
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "DENY"]


def test_no_page_takes_anything_in_its_path() -> None:
    from tokens.pages.urls import urlpatterns

    assert [str(p.pattern) for p in urlpatterns if "<" in str(p.pattern)] == []
