"""Dual control: an operator's grant of a sensitive role, or reset of someone
holding one, waits for a second vault admin; the command line stays break-glass."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import audit_where, fresh_client
from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import InvalidInput, PermissionDenied
from tokens.models import RoleRequest

UI = RequestContext(channel="ui")
CLI = RequestContext(channel="cli")
WHY = "INC-42: card dispute needs a second reviewer"


def _ask(operators: dict[str, Any]) -> RoleRequest:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    assert asked is not None
    return asked


def test_an_operators_sensitive_grant_makes_a_request_and_grants_nothing(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    assert (asked.kind, asked.role, asked.state) == ("grant", "detokenizer", "pending")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    [record] = audit_where(action="role_grant_requested")
    assert (record["actor"], record["outcome"]) == ("vault_admin", "success")
    assert not audit_where(action="role_grant")


def test_the_requester_cannot_approve_their_own_request(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    with pytest.raises(PermissionDenied, match="another vault admin must decide"):
        admin_ops.approve_request(operators["vault_admin"], UI, asked.pk, "checked")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    [record] = audit_where(action="role_request_approve")
    assert (record["actor"], record["outcome"]) == ("vault_admin", "denied")


def test_the_target_cannot_approve_a_request_about_themselves(operators: dict[str, Any]) -> None:
    assert admin_ops.reset_operator(operators["vault_admin"], UI, "everyone", WHY) is None
    [asked] = RoleRequest.open()
    with pytest.raises(PermissionDenied, match="about you"):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    asked.refresh_from_db()
    assert asked.state == "pending"


def test_someone_who_is_not_a_vault_admin_cannot_approve(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    with pytest.raises(PermissionDenied):
        admin_ops.approve_request(operators["detokenizer"], UI, asked.pk, "checked")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]


def test_a_second_admin_approves_and_the_grant_is_audited_with_both_names(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    decided, invitation = admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert invitation is None
    assert (decided.reason, decided.comment) == (WHY, "checked")
    assert (decided.state, decided.decided_by) == ("approved", operators["everyone"])
    assert decided.decided_at is not None
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor", "detokenizer"]
    [record] = audit_where(action="role_grant")
    assert record["actor"] == "everyone"
    assert "requested by vault_admin, approved by everyone" in record["detail"]


def test_a_request_cannot_be_approved_twice(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    with pytest.raises(InvalidInput, match="no such pending request"):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")


def test_a_rejected_request_grants_nothing_and_is_audited(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    decided = admin_ops.reject_request(operators["everyone"], UI, asked.pk, "not needed")
    assert decided.state == "rejected"
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    [record] = audit_where(action="role_request_reject")
    assert (record["actor"], record["outcome"]) == ("everyone", "success")
    with pytest.raises(InvalidInput):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")


def test_a_request_older_than_a_day_cannot_be_approved(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    RoleRequest.objects.filter(pk=asked.pk).update(created=timezone.now() - timedelta(hours=24, seconds=1))
    with pytest.raises(InvalidInput, match="expired"):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    assert audit_where(action="role_request_approve")[-1]["outcome"] == "invalid"


def test_a_second_identical_request_is_refused_while_one_waits(operators: dict[str, Any]) -> None:
    _ask(operators)
    with pytest.raises(InvalidInput, match="already waiting"):
        _ask(operators)


def test_a_non_sensitive_grant_by_an_operator_is_immediate(operators: dict[str, Any]) -> None:
    assert admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "tokenizer") is None
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor", "tokenizer"]


def test_creating_an_operator_grants_other_roles_now_and_asks_for_sensitive_ones(
    operators: dict[str, Any],
) -> None:
    user, _ = admin_ops.create_operator(
        operators["vault_admin"], UI, "kim", "kim@example.org", ["auditor", "detokenizer"]
    )
    assert admin_ops.roles_of(user) == ["auditor"]
    [asked] = RoleRequest.open().filter(target=user)
    admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert admin_ops.roles_of(user) == ["auditor", "detokenizer"]


def test_resetting_a_detokenizer_waits_and_the_link_goes_to_the_operator_not_the_approver(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    target = operators["detokenizer"]
    assert admin_ops.reset_operator(operators["vault_admin"], UI, "detokenizer", WHY) is None
    target.refresh_from_db()
    assert target.check_password("correct-horse-battery-9")  # unchanged until approved
    [asked] = RoleRequest.open().filter(target=target, kind="reset")
    assert audit_where(action="operator_reset_requested")[-1]["actor"] == "vault_admin"
    assert not audit_where(action="operator_reset")
    [notice] = mailoutbox
    assert notice.to == ["everyone@example.org"] and WHY in notice.body
    _, invitation = admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert invitation is not None and invitation.sent and invitation.link == ""
    target.refresh_from_db()
    assert not target.has_usable_password()
    assert mailoutbox[-1].to == ["detokenizer@example.org"]
    [record] = audit_where(action="operator_reset")
    assert record["actor"] == "everyone"
    assert "requested by vault_admin, approved by everyone" in record["detail"]


def test_the_command_line_still_grants_and_resets_directly(operators: dict[str, Any]) -> None:
    assert admin_ops.grant_role(None, CLI, "auditor", "detokenizer") is None
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor", "detokenizer"]
    assert admin_ops.reset_operator(None, CLI, "auditor") is not None
    [record] = audit_where(action="role_grant")
    assert (record["actor"], record["actor_type"]) == ("(command line)", "system")
    assert not RoleRequest.objects.exists()


def test_the_page_tells_the_requester_their_request_is_pending(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post(
        "/operators", {"action": "grant", "username": "auditor", "role": "detokenizer", "reason": WHY}
    )
    assert b"Asked for detokenizer for auditor; another vault admin must approve it" in response.content
    page = client.get("/operators").content.decode()
    assert "your request: pending" in page and 'value="approve"' not in page


def test_a_second_admin_approves_a_reset_on_the_page_and_sees_no_secret(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "reset", "username": "detokenizer", "confirm": "yes", "reason": WHY}
    )
    [asked] = RoleRequest.open()
    second = fresh_client(operators["everyone"])
    page = second.get("/operators").content.decode()
    assert 'value="approve"' in page and WHY in page
    response = second.post(
        "/operators", {"action": "approve", "request": str(asked.pk), "comment": "checked"}
    )
    assert response.status_code == 200
    assert b"Approved: reset detokenizer. detokenizer was emailed a sign-in link" in response.content
    token = re.search(r"/accounts/welcome/[^/]+/([^/]+)/", mailoutbox[-1].body)
    assert token and token.group(1) not in response.content.decode()


def test_the_page_rejects_a_request(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    response = fresh_client(operators["everyone"]).post(
        "/operators", {"action": "reject", "request": str(asked.pk), "comment": "not needed"}
    )
    assert b"Rejected the request." in response.content
    asked.refresh_from_db()
    assert asked.state == "rejected"


def test_the_requester_approving_on_the_page_gets_the_403_page(operators: dict[str, Any]) -> None:
    asked = _ask(operators)
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "approve", "request": str(asked.pk), "comment": "fine"}
    )
    assert response.status_code == 403
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
