"""Managing operators and API clients: permission checks, audit first, fail closed."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model

from tests.conftest import Api, audit_where
from tokens import admin_ops, api_keys
from tokens.actors import RequestContext
from tokens.errors import AuditUnavailable, InvalidInput, PermissionDenied
from tokens.models import ApiClient, OperatorAccount, RoleRequest

UI = RequestContext(channel="ui")
WHY = "INC-42: card dispute needs a second reviewer"


def test_it_creates_an_operator_without_a_password_and_emails_a_sign_in_link(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    user, invitation = admin_ops.create_operator(
        operators["vault_admin"], UI, "gina", "Gina@Example.org", ["detokenizer"], reason=WHY
    )
    assert (invitation.email, invitation.sent, invitation.link) == ("gina@example.org", True, "")
    assert not user.has_usable_password()
    assert user.email == "gina@example.org"
    assert OperatorAccount.objects.get(user=user).must_change_password
    assert admin_ops.roles_of(user) == []  # detokenizer waits for a second vault admin
    assert RoleRequest.open().filter(target=user, role="detokenizer").exists()
    sent_to = [m.to for m in mailoutbox]
    assert ["gina@example.org"] in sent_to  # the link
    assert ["everyone@example.org"] in sent_to  # the other vault admin, told of the request


def test_it_refuses_someone_who_is_not_a_vault_admin_and_audits_it(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        admin_ops.grant_role(operators["detokenizer"], UI, "auditor", "detokenizer")
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    [record] = audit_where(action="role_grant")
    assert (record["actor"], record["outcome"]) == ("detokenizer", "denied")


def test_an_admin_cannot_grant_a_role_to_themselves(operators: dict[str, Any]) -> None:
    admin = operators["vault_admin"]
    with pytest.raises(PermissionDenied, match="cannot grant a role to yourself"):
        admin_ops.grant_role(admin, UI, "vault_admin", "detokenizer")
    assert admin_ops.roles_of(admin) == ["vault_admin"]
    [record] = audit_where(action="role_grant")
    assert record["outcome"] == "denied"
    assert record["detail"].startswith(f"detokenizer to vault_admin (user:{admin.pk})")


@pytest.mark.parametrize("role", ["detokenizer", "vault_admin"])
def test_granting_a_sensitive_role_is_audited_with_both_admins(operators: dict[str, Any], role: str) -> None:
    target = operators["auditor"]
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", role, WHY)
    assert asked is not None
    admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert role in admin_ops.roles_of(target)
    [record] = audit_where(action="role_grant")
    assert (record["actor"], record["outcome"]) == ("everyone", "success")
    assert record["detail"] == (
        f"{role} to auditor (user:{target.pk}); requested by vault_admin, approved by everyone"
    )


def test_the_vault_admin_role_brings_and_takes_the_admin_site(operators: dict[str, Any]) -> None:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "vault_admin", WHY)
    assert asked is not None
    admin_ops.approve_request(operators["everyone"], UI, asked.pk, "checked")
    assert get_user_model().objects.get(username="auditor").is_staff
    admin_ops.revoke_role(operators["vault_admin"], UI, "auditor", "vault_admin")
    assert not get_user_model().objects.get(username="auditor").is_staff
    actions = [r["action"] for r in audit_where() if r["action"].startswith("role_")]
    assert actions == ["role_grant_requested", "role_grant", "role_revoke"]


def test_it_refuses_unknown_roles_and_operators(operators: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="unknown role"):
        admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "root")
    with pytest.raises(InvalidInput, match="no such operator"):
        admin_ops.grant_role(operators["vault_admin"], UI, "ghost", "auditor")
    assert [r["outcome"] for r in audit_where(action="role_grant")] == ["invalid", "invalid"]


def test_nothing_changes_when_the_audit_log_cannot_be_written(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "VAULT_AUDIT_TABLE", "no-such-table")
    with pytest.raises(AuditUnavailable):
        admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    with pytest.raises(AuditUnavailable):
        admin_ops.create_operator(operators["vault_admin"], UI, "hank", "hank@example.org", ["detokenizer"])
    with pytest.raises(AuditUnavailable):
        admin_ops.create_client(operators["vault_admin"], UI, "shadow", ["tokenize"])
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    assert not RoleRequest.objects.exists()
    assert not get_user_model().objects.filter(username="hank").exists()
    assert not ApiClient.objects.filter(name="shadow").exists()


def test_resetting_an_operator_removes_password_and_mfa_and_emails_them_a_link(
    operators: dict[str, Any], mailoutbox: list[Any]
) -> None:
    target = operators["auditor"]
    invitation = admin_ops.reset_operator(operators["vault_admin"], UI, "auditor")
    assert invitation is not None and invitation.sent and invitation.link == ""
    target.refresh_from_db()
    assert not target.has_usable_password()
    assert OperatorAccount.objects.get(user=target).must_change_password
    assert not Authenticator.objects.filter(user=target).exists()
    [record] = audit_where(action="operator_reset")
    assert record["detail"] == f"auditor (user:{target.pk})"
    [mail] = mailoutbox
    assert mail.to == ["auditor@example.org"] and "/accounts/welcome/" in mail.body


def test_an_admin_cannot_reset_themselves(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        admin_ops.reset_operator(operators["vault_admin"], UI, "vault_admin")


def test_resetting_a_deactivated_operator_does_not_reactivate_them(operators: dict[str, Any]) -> None:
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "auditor")
    admin_ops.reset_operator(operators["vault_admin"], UI, "auditor")
    operators["auditor"].refresh_from_db()
    assert operators["auditor"].is_active is False


def test_deactivating_an_operator_makes_the_account_inactive_and_is_audited(
    operators: dict[str, Any],
) -> None:
    target = operators["detokenizer"]
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "detokenizer")
    target.refresh_from_db()
    assert target.is_active is False
    [record] = audit_where(action="operator_deactivate")
    assert (record["actor"], record["outcome"], record["detail"]) == (
        "vault_admin",
        "success",
        f"detokenizer (user:{target.pk})",
    )


def test_an_admin_cannot_deactivate_themselves(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied, match="cannot deactivate your own account"):
        admin_ops.deactivate_operator(operators["vault_admin"], UI, "vault_admin")
    operators["vault_admin"].refresh_from_db()
    assert operators["vault_admin"].is_active is True
    [record] = audit_where(action="operator_deactivate")
    assert record["outcome"] == "denied"


def test_someone_who_is_not_a_vault_admin_cannot_deactivate_an_operator(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        admin_ops.deactivate_operator(operators["auditor"], UI, "detokenizer")
    operators["detokenizer"].refresh_from_db()
    assert operators["detokenizer"].is_active is True


def test_deactivating_an_operator_twice_is_refused(operators: dict[str, Any]) -> None:
    admin_ops.deactivate_operator(operators["vault_admin"], UI, "auditor")
    with pytest.raises(InvalidInput, match="already deactivated"):
        admin_ops.deactivate_operator(operators["vault_admin"], UI, "auditor")


def test_it_creates_an_api_client_whose_key_works_and_is_never_stored(operators: dict[str, Any]) -> None:
    client, key = admin_ops.create_client(
        operators["vault_admin"], UI, "billing", ["tokenize", "metadata"], ["card"]
    )
    assert client.scopes == ["tokenize", "metadata"]
    assert client.allowed_fields == ["card"]
    assert key not in str(ApiClient.objects.filter(pk=client.pk).values().get())
    assert Api(key).tokenize({"card": "4242"}).startswith("TKN-SYD-")
    [record] = audit_where(action="api_client_create")
    assert record["detail"] == "billing scopes [tokenize,metadata] fields [card]"
    assert key not in str(record) and api_keys.prefix_of(key) not in record["detail"]


def test_it_refuses_a_client_without_scopes_or_with_a_taken_name(operators: dict[str, Any]) -> None:
    admin_ops.create_client(operators["vault_admin"], UI, "billing", ["tokenize"])
    with pytest.raises(InvalidInput, match="scopes"):
        admin_ops.create_client(operators["vault_admin"], UI, "other", [])
    with pytest.raises(InvalidInput, match="exists"):
        admin_ops.create_client(operators["vault_admin"], UI, "billing", ["tokenize"])


def test_a_vault_admin_cannot_issue_a_client_with_the_detokenize_scope(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied, match="Only the command line"):
        admin_ops.create_client(operators["vault_admin"], UI, "shadow", ["metadata", "detokenize"])
    assert not ApiClient.objects.filter(name="shadow").exists()


def test_a_refused_detokenize_client_is_audited(operators: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        admin_ops.create_client(operators["vault_admin"], UI, "shadow", ["detokenize"])
    [record] = audit_where(action="api_client_create")
    assert (record["actor"], record["outcome"], record["detail"]) == (
        "vault_admin",
        "denied",
        "shadow scopes [detokenize] fields [all]; detokenize scope needs the command line",
    )


def test_the_command_line_may_issue_a_client_with_the_detokenize_scope(db: Any) -> None:
    client, _ = admin_ops.create_client(None, RequestContext(channel="cli"), "reader", ["detokenize"])
    assert client.scopes == ["detokenize"]


def test_a_revoked_client_key_stops_working_and_the_revocation_is_audited(operators: dict[str, Any]) -> None:
    client, key = admin_ops.create_client(operators["vault_admin"], UI, "billing", ["tokenize"])
    admin_ops.revoke_client(operators["vault_admin"], UI, client.pk)
    response = Api(key).post("/api/v1/tokens", {"data": {"card": "4242"}})
    assert response.status_code == 401
    [record] = audit_where(action="api_client_revoke")
    assert record["detail"] == f"billing (client:{client.pk})"


def test_the_command_line_may_manage_without_a_signed_in_admin(db: Any) -> None:
    user, _ = admin_ops.create_operator(None, RequestContext(channel="cli"), "ivy", "", ["auditor"])
    [record] = audit_where(action="operator_create")
    assert (record["actor"], record["actor_type"], record["channel"]) == ("(command line)", "system", "cli")
    assert admin_ops.roles_of(user) == ["auditor"]


def test_the_createapiclient_command_is_audited_like_the_page(db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("createapiclient", "billing", "--scopes", "tokenize", stdout=StringIO())
    [record] = audit_where(action="api_client_create")
    assert (record["actor"], record["channel"], record["outcome"]) == ("(command line)", "cli", "success")
