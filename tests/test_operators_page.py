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
    assert (
        b"Created jane with tokenizer. jane was emailed a sign-in link at jane@example.org"
        in response.content
    )
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
    assert b"Tick the box to confirm." in response.content
    response = client.post("/operators", {"action": "reset", "username": "auditor", "confirm": "yes"})
    assert response.status_code == 200
    assert b"Reset auditor. auditor was emailed a sign-in link at auditor@example.org" in response.content


def test_it_explains_a_bad_operator_form(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators",
        {"action": "create", "username": "tokenizer", "email": "t2@example.org", "roles": ["auditor"]},
    )
    assert response.status_code == 400
    assert b"That username is taken." in response.content


def test_it_asks_to_confirm_a_deactivation(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post("/operators", {"action": "deactivate", "username": "auditor"})
    assert response.status_code == 400
    assert b"Tick the box to confirm." in response.content
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


# --- rough edges: pending roles, nothing left to grant, what was typed, the admin's button ---


def _row(page: str, username: str) -> str:
    match = re.search(rf'<tr id="operator-\d+">\s*<td><strong>{username}</strong>.*?</tr>', page, re.S)
    assert match, username
    return match.group(0)


def test_a_role_already_asked_for_is_shown_pending_and_not_offered_again(operators: dict[str, Any]) -> None:
    admin_ops.grant_role(
        operators["vault_admin"], RequestContext(channel="ui"), "auditor", "detokenizer",
        reason="INC-3 needs a reveal",
    )  # fmt: skip
    page = fresh_client(operators["everyone"]).get("/operators").content.decode()
    row = _row(page, "auditor")
    assert '<span class="badge pending">detokenizer</span>' in row
    assert "pending: not granted until another vault admin approves" in row
    assert '<option value="detokenizer">' not in row
    assert '<option value="tokenizer">' in row


def test_someone_holding_every_role_gets_no_grant_form(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["vault_admin"]).get("/operators").content.decode()
    row = _row(page, "everyone")
    assert 'value="grant"' not in row and "<select" not in row
    assert "Holds every role: nothing more to grant." in row


def test_creating_an_operator_says_a_sensitive_role_is_only_pending(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    form = {
        "action": "create",
        "username": "bob",
        "email": "bob@example.org",
        "roles": ["tokenizer", "detokenizer"],
    }
    response = fresh_client(operators["vault_admin"]).post("/operators", form)
    page = response.content.decode()
    assert "Created bob with tokenizer." in page
    assert (
        "detokenizer is not granted yet: pending until another vault admin approves (within 24 hours)."
        in page
    )
    assert admin_ops.roles_of(get_user_model().objects.get(username="bob")) == ["tokenizer"]


def test_a_refused_grant_keeps_what_was_typed(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators",
        {"action": "grant", "username": "auditor", "role": "detokenizer", "hours": "4", "reason": "short"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Reason: write at least 10 characters." in page
    row = _row(page, "auditor")
    assert '<option value="detokenizer" selected>' in row
    assert 'name="hours"' in row and 'value="4"' in row
    assert 'value="short"' in row


def test_an_empty_role_is_asked_for_in_plain_words(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "grant", "username": "auditor", "role": ""}
    )
    assert response.status_code == 400
    assert b"Pick a role to grant." in response.content
    assert b"unknown role" not in response.content


def test_a_refused_create_keeps_the_form_as_typed(operators: dict[str, Any]) -> None:
    form = {"action": "create", "username": "auditor", "email": "new@example.org", "roles": ["ttl_manager"]}
    response = fresh_client(operators["vault_admin"]).post("/operators", form)
    page = response.content.decode()
    assert response.status_code == 400
    assert "That username is taken." in page
    assert 'name="email" value="new@example.org"' in page
    assert re.search(r'value="ttl_manager"[^>]*checked', page)


def test_a_refused_self_approval_stays_on_the_page(operators: dict[str, Any]) -> None:
    asked = admin_ops.grant_role(
        operators["vault_admin"], RequestContext(channel="ui"), "auditor", "detokenizer",
        reason="INC-3 needs a reveal",
    )  # fmt: skip
    assert asked is not None
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "approve", "request": str(asked.pk), "comment": "fine by me"}
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Operators</h1>" in page
    assert "You asked for this; another vault admin must decide it." in page


def test_the_admins_reset_password_button_leads_to_the_vaults_reset(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    target = operators["auditor"]
    change = client.get(f"/admin/auth/user/{target.pk}/change/").content.decode()
    assert 'href="../password/"' in change
    response = client.get(f"/admin/auth/user/{target.pk}/password/")
    assert response.status_code == 302
    assert response["Location"] == f"/operators#operator-{target.pk}"
    page = client.get("/operators").content.decode()
    assert "Passwords are never set for someone else. To reset auditor, use Reset in their row below" in page
    assert (
        client.post(
            f"/admin/auth/user/{target.pk}/password/", {"password1": "x", "password2": "x"}
        ).status_code
        == 302
    )
    target.refresh_from_db()
    assert target.check_password(PASSWORD)  # nothing changed
