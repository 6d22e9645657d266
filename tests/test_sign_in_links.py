"""Sign-in links: a new or reset operator chooses their own password through a
link emailed to them; it works once, only for an active account, and its token
stays out of the logs."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import audit_where, fresh_client
from tests.test_createoperator import choose_password
from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.redaction import redact

UI = RequestContext(channel="ui")
NEW = "a-long-fresh-passphrase-7"


def link_of(mail: Any) -> str:
    found = re.search(r"(http://testserver/accounts/welcome/\S+/)", mail.body)
    assert found, mail.body
    return found.group(1)


def test_the_link_sets_the_password_once_and_the_operator_then_enrols_mfa(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    link = link_of(mailoutbox[0])
    done = choose_password(link, NEW)
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    client = Client()
    response = client.post("/accounts/login/", {"login": "jane", "password": NEW})
    assert response["Location"] == "/"
    assert client.get("/audit")["Location"] == "/accounts/2fa/totp/activate/"
    [record] = audit_where(action="password_set")
    assert (record["actor"], record["detail"]) == ("jane", "sign-in link")
    again = choose_password(link, "another-long-passphrase-8")
    assert b"This link does not work" in again.content


def test_a_weak_password_is_refused_on_the_link_page(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    response = choose_password(link_of(mailoutbox[0]), "short")
    assert response.status_code == 200 and b"too short" in response.content
    assert not audit_where(action="password_set")


def test_the_link_of_a_deactivated_operator_does_not_work(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "jane")
    response = choose_password(link_of(mailoutbox[0]), NEW)
    assert b"This link does not work" in response.content


def test_a_reset_makes_the_earlier_link_useless(operators: dict[str, Any], mailoutbox: list[Any]) -> None:
    admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    first = link_of(mailoutbox[0])
    admin_ops.reset_operator(operators["vault_admin"], UI, "jane")
    second = link_of(mailoutbox[-1])
    assert b"This link does not work" in choose_password(first, NEW).content
    assert choose_password(second, NEW).status_code == 302


def test_the_link_token_stays_out_of_the_logs(
    operators: dict[str, Any], mailoutbox: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    token = link_of(mailoutbox[0]).rstrip("/").rsplit("/", 1)[-1]
    choose_password(link_of(mailoutbox[0]), NEW)
    assert token not in caplog.text and token not in str(audit_where())
    line = f'"GET /accounts/welcome/Mw/{token}/ HTTP/1.1" 302 0'
    assert redact(line) == '"GET /accounts/welcome/Mw/(redacted)/ HTTP/1.1" 302 0'
    assert "set-password" in redact('"GET /accounts/welcome/Mw/set-password/ HTTP/1.1" 200')


def test_a_failed_email_leaves_the_account_and_says_so(operators: dict[str, Any], settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "create", "username": "jane", "email": "jane@example.org"}
    )
    assert response.status_code == 200
    assert b"sign-in link could not be sent; try Reset later" in response.content


def test_without_a_site_address_nothing_is_created_or_reset(operators: dict[str, Any], settings: Any) -> None:
    from django.contrib.auth import get_user_model

    from tokens.errors import InvalidInput

    settings.VAULT_SITE_URL = ""
    with pytest.raises(InvalidInput, match="VAULT_SITE_URL is not set"):
        admin_ops.create_operator(operators["vault_admin"], UI, "jane", "jane@example.org", ["auditor"])
    with pytest.raises(InvalidInput, match="VAULT_SITE_URL is not set"):
        admin_ops.reset_operator(operators["vault_admin"], UI, "auditor")
    assert not get_user_model().objects.filter(username="jane").exists()
    operators["auditor"].refresh_from_db()
    assert operators["auditor"].has_usable_password()
