"""The operators page: create (a sign-in link by email, never a password on the page), grant,
revoke, reset, deactivate."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import audit_where, fresh_client
from tokens import admin_ops
from tokens.actors import RequestContext

PASSWORD = "correct-horse-battery-9"


def test_it_creates_an_operator_who_gets_a_sign_in_link_by_email_and_the_admin_sees_no_secret(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    client = fresh_client(operators["vault_admin"])
    form = {"action": "create", "username": "jane", "email": "jane@example.org", "roles": ["tokenizer"]}
    response = client.post("/operators", form)
    assert response.status_code == 200
    assert b"Created jane. jane was emailed a sign-in link at jane@example.org" in response.content
    [mail] = mailoutbox
    assert mail.to == ["jane@example.org"]
    link = sign_in_link(mail.body)
    path = link.split("http://testserver", 1)[-1]
    assert path.split("/")[-2] not in response.content.decode()  # the token is not on the admin's page
    jane = get_user_model().objects.get(username="jane")
    assert not jane.has_usable_password()
    assert Client().post("/accounts/login/", {"login": "jane", "password": ""}).status_code == 200


def test_an_operator_created_on_the_page_needs_an_email_address(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "create", "username": "jane", "email": "", "roles": ["tokenizer"]}
    )
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="jane").exists()


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
    assert b"Reset auditor. auditor was emailed a sign-in link at auditor@example.org" in response.content


def test_it_explains_a_bad_operator_form(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators",
        {"action": "create", "username": "tokenizer", "email": "t2@example.org", "roles": ["auditor"]},
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
    assert response.status_code == 200 and b"not correct" in response.content  # as a wrong password
    assert "_auth_user_id" not in client.session


def test_a_deactivated_operators_session_ends(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    assert client.get("/audit").status_code == 200
    admin_ops.deactivate_operator(None, RequestContext(channel="cli"), "auditor")
    response = client.get("/audit")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def sign_in_link(body: str) -> str:
    found = re.search(r"(http\S+/accounts/welcome/\S+/)", body)
    assert found, body
    return found.group(1)
