"""`manage.py createoperator`: a new operator with roles and a sign-in link (emailed, or
printed for the command line when there is no address)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.conftest import audit_where
from tokens import admin_ops
from tokens.models import OperatorAccount


def test_it_creates_an_operator_and_prints_a_sign_in_link_when_there_is_no_email(
    clean_cache: None,
) -> None:
    out = io.StringIO()
    call_command("createoperator", "kim", "--roles", "detokenizer,auditor", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Created operator 'kim' with roles detokenizer, auditor."
    link = lines[-1]
    assert link.startswith("http://testserver/accounts/welcome/")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="kim")
    assert admin_ops.roles_of(user) == ["auditor", "detokenizer"]
    assert OperatorAccount.objects.get(user=user).must_change_password
    assert not user.has_usable_password()
    choose_password(link, "a-long-fresh-passphrase-7")
    response = Client().post("/accounts/login/", {"login": "kim", "password": "a-long-fresh-passphrase-7"})
    assert response["Location"] == "/"  # then straight to enrolling an authenticator
    assert [r["action"] for r in audit_where(channel="cli")] == [
        "operator_create",
        "role_grant",
        "role_grant",
    ]


def test_with_an_email_address_it_sends_the_link_and_prints_none(
    clean_cache: None, mailoutbox: list[Any]
) -> None:
    out = io.StringIO()
    call_command("createoperator", "kim", "--email", "kim@example.org", stdout=out)
    assert "/accounts/welcome/" not in out.getvalue()
    assert "Their sign-in link went to kim@example.org" in out.getvalue()
    [mail] = mailoutbox
    assert mail.to == ["kim@example.org"] and "/accounts/welcome/" in mail.body


def choose_password(link: str, password: str) -> Any:
    """Open a sign-in link and choose a password; the last page shown."""
    client = Client()
    page = client.get(link.removeprefix("http://testserver"), follow=True)
    if not page.redirect_chain:  # an invalid link is not swapped out of the URL
        return page
    path = page.redirect_chain[-1][0]
    return client.post(path, {"new_password1": password, "new_password2": password})


def test_it_names_an_unknown_role(db: Any) -> None:
    with pytest.raises(CommandError, match="unknown role 'admin'"):
        call_command("createoperator", "kim", "--roles", "admin")


def test_it_refuses_a_taken_username(db: Any) -> None:
    call_command("createoperator", "kim", stdout=io.StringIO())
    with pytest.raises(CommandError, match="that username is taken"):
        call_command("createoperator", "KIM", stdout=io.StringIO())
