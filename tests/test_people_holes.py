"""The holes a penetration test found in managing people, each reproduced:
one vault admin getting around dual control through a reset, and revokes
that could leave the vault without two vault admins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import audit_where, fresh_client, make_operator
from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import InvalidInput, PermissionDenied
from tokens.models import RoleRequest

UI = RequestContext(channel="ui")
CLI = RequestContext(channel="cli")
WHY = "INC-42: card dispute needs a second reviewer"


def test_revoking_detokenizer_then_resetting_still_needs_a_second_admin(operators: dict[str, Any]) -> None:
    admin = operators["vault_admin"]
    admin_ops.revoke_role(admin, UI, "detokenizer", "detokenizer")
    with pytest.raises(InvalidInput, match="reason"):
        admin_ops.reset_operator(admin, UI, "detokenizer")
    assert admin_ops.reset_operator(admin, UI, "detokenizer", WHY) is None
    operators["detokenizer"].refresh_from_db()
    assert operators["detokenizer"].check_password("correct-horse-battery-9")
    assert RoleRequest.open().filter(kind="reset", target=operators["detokenizer"]).exists()


def test_a_reset_on_the_page_shows_the_admin_no_credential(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "reset", "username": "auditor", "confirm": "yes"}
    )
    page = response.content.decode()
    [mail] = mailoutbox
    assert mail.to == ["auditor@example.org"]
    token = re.search(r"/accounts/welcome/([^/]+)/([^/]+)/", mail.body)
    assert token and token.group(2) not in page and "/accounts/welcome/" not in page
    operators["auditor"].refresh_from_db()
    assert not operators["auditor"].has_usable_password()


def test_a_request_pending_for_an_account_does_not_survive_its_reset(operators: dict[str, Any]) -> None:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    assert asked is not None
    admin_ops.reset_operator(operators["vault_admin"], UI, "auditor")
    asked.refresh_from_db()
    assert asked.state == "cancelled"
    with pytest.raises(InvalidInput, match="no such pending request"):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    assert "cancels 1 pending request(s)" in audit_where(action="operator_reset")[-1]["detail"]


def test_requests_made_by_an_account_do_not_survive_its_reset_or_deactivation(
    operators: dict[str, Any],
) -> None:
    third = make_operator("third", ("vault_admin",))
    asked = admin_ops.grant_role(operators["everyone"], UI, "auditor", "detokenizer", WHY)
    assert asked is not None
    admin_ops.reset_operator(None, CLI, "everyone")
    asked.refresh_from_db()
    assert asked.state == "cancelled"
    again = admin_ops.grant_role(third, UI, "tokenizer", "detokenizer", WHY)
    assert again is not None
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "third")
    again.refresh_from_db()
    assert again.state == "cancelled"


def test_a_request_for_a_deactivated_account_is_cancelled(operators: dict[str, Any]) -> None:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    assert asked is not None
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "auditor")
    asked.refresh_from_db()
    assert asked.state == "cancelled"


def test_nobody_revokes_their_own_vault_admin_role(operators: dict[str, Any]) -> None:
    make_operator("third", ("vault_admin",))
    with pytest.raises(PermissionDenied, match="your own vault_admin"):
        admin_ops.revoke_role(operators["vault_admin"], UI, "vault_admin", "vault_admin")
    assert "vault_admin" in admin_ops.roles_of(operators["vault_admin"])
    assert audit_where(action="role_revoke")[-1]["outcome"] == "denied"


def test_the_vault_keeps_two_vault_admins_once_it_has_two(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied, match="at least two vault admins"):
        admin_ops.revoke_role(operators["vault_admin"], UI, "everyone", "vault_admin")
    with pytest.raises(PermissionDenied, match="at least two vault admins"):
        admin_ops.deactivate_operator(operators["vault_admin"], UI, "everyone")
    assert "vault_admin" in admin_ops.roles_of(operators["everyone"])
    make_operator("third", ("vault_admin",))
    admin_ops.revoke_role(operators["vault_admin"], UI, "everyone", "vault_admin")
    assert "vault_admin" not in admin_ops.roles_of(operators["everyone"])


def test_the_page_refuses_revoking_the_second_last_vault_admin(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "revoke", "username": "everyone", "role": "vault_admin"}
    )
    assert response.status_code == 403
    assert b"at least two vault admins" in response.content


def test_the_whole_pen_test_chain_ends_without_a_reveal(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    # The demonstrated chain: revoke the detokenizer's role, reset them, sign in
    # as them with what the reset showed. Now the reset waits for a second admin,
    # and even approved, the link goes to the operator's own address.
    admin = fresh_client(operators["vault_admin"])
    admin.post("/operators", {"action": "revoke", "username": "detokenizer", "role": "detokenizer"})
    response = admin.post(
        "/operators", {"action": "reset", "username": "detokenizer", "confirm": "yes", "reason": WHY}
    )
    assert b"Asked to reset detokenizer" in response.content
    assert (
        Client()
        .post("/accounts/login/", {"login": "detokenizer", "password": "correct-horse-battery-9"})
        .status_code
        == 302
    )  # the owner's password still works: nothing was reset
    assert all(m.to != ["vault_admin@example.org"] for m in mailoutbox)
