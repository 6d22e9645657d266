"""The operators page: create (one-time password shown once), grant, revoke, reset, deactivate."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.conftest import audit_where, fresh_client
from tokens import admin_ops
from tokens.actors import RequestContext

PASSWORD = "correct-horse-battery-9"


def test_it_creates_an_operator_and_shows_the_one_time_password_once(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post(
        "/operators", {"action": "create", "username": "jane", "email": "", "roles": ["tokenizer", "auditor"]}
    )
    assert response.status_code == 200
    password = re.search(r'id="otp-value">([a-z0-9-]+)<', response.content.decode())
    assert password
    assert password.group(1) not in client.get("/operators").content.decode()
    signed_in = Client().post("/accounts/login/", {"login": "jane", "password": password.group(1)})
    assert signed_in["Location"] == "/"  # then straight to changing it


def test_it_grants_and_revokes_roles(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post("/operators", {"action": "grant", "username": "tokenizer", "role": "auditor"})
    assert b"Granted auditor to tokenizer." in response.content
    response = client.post("/operators", {"action": "revoke", "username": "tokenizer", "role": "tokenizer"})
    assert b"Revoked tokenizer from tokenizer." in response.content
    assert admin_ops.roles_of(operators["tokenizer"]) == ["auditor"]


def test_it_refuses_a_self_grant_with_the_403_page(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "grant", "username": "vault_admin", "role": "detokenizer"}
    )
    assert response.status_code == 403
    assert b"cannot grant a role to yourself" in response.content
    assert admin_ops.roles_of(operators["vault_admin"]) == ["vault_admin"]
    assert audit_where(action="role_grant")[-1]["outcome"] == "denied"


def test_it_offers_no_grant_or_reset_on_ones_own_row(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["vault_admin"]).get("/operators").content.decode()
    own_row = page.split("<strong>vault_admin</strong>")[1].split("</tr>")[0]
    assert "that is you" in own_row and 'value="grant"' not in own_row


def test_it_asks_to_confirm_a_reset(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post("/operators", {"action": "reset", "username": "auditor"})
    assert response.status_code == 400
    assert b"tick the box to confirm" in response.content
    response = client.post("/operators", {"action": "reset", "username": "auditor", "confirm": "yes"})
    assert response.status_code == 200
    assert b"Reset auditor" in response.content


def test_it_explains_a_bad_operator_form(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "create", "username": "tokenizer", "roles": ["auditor"]}
    )
    assert response.status_code == 400
    assert b"that username is taken" in response.content


def test_it_asks_to_confirm_a_deactivation(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post("/operators", {"action": "deactivate", "username": "auditor"})
    assert response.status_code == 400
    assert b"tick the box to confirm" in response.content
    response = client.post("/operators", {"action": "deactivate", "username": "auditor", "confirm": "yes"})
    assert response.status_code == 200
    assert b"Deactivated auditor; they can no longer sign in." in response.content


def test_it_offers_no_deactivation_on_ones_own_row(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["vault_admin"]).get("/operators").content.decode()
    own_row = page.split("<strong>vault_admin</strong>")[1].split("</tr>")[0]
    other_row = page.split("<strong>auditor</strong>")[1].split("</tr>")[0]
    assert 'value="deactivate"' not in own_row and 'value="deactivate"' in other_row


def test_a_deactivated_operator_cannot_sign_in(operators: dict[str, Any]) -> None:
    admin_ops.deactivate_operator(None, RequestContext(channel="cli"), "auditor")
    client = Client()
    response = client.post("/accounts/login/", {"login": "auditor", "password": PASSWORD})
    assert response["Location"] == "/accounts/inactive/"
    assert "_auth_user_id" not in client.session


def test_a_deactivated_operators_session_ends(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    assert client.get("/audit").status_code == 200
    admin_ops.deactivate_operator(None, RequestContext(channel="cli"), "auditor")
    response = client.get("/audit")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
