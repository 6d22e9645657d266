"""Time-boxed access, and what approvals carry: a role granted for some hours
lapses by itself (audited) and the operator sees when; requests carry a reason,
decisions a comment, and approvers are told."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import audit_where, fresh_client
from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.errors import InvalidInput
from tokens.models import TimedRole

UI = RequestContext(channel="ui")
WHY = "INC-42: card dispute needs a second reviewer"


def test_an_approved_time_boxed_detokenizer_role_lapses_by_itself_and_is_audited(
    operators: dict[str, Any],
) -> None:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY, hours=4)
    assert asked is not None and asked.hours == 4
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "incident open")
        assert "detokenizer" in admin_ops.roles_of(operators["auditor"])
        client = fresh_client(operators["auditor"])
        page = client.get("/").content.decode()
        ends = (start + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M")
        assert f"Your <strong>detokenizer</strong> role ends {ends} UTC" in page
        assert client.get("/reveal").status_code == 200
        clock.shift(timedelta(hours=4, seconds=1))
        assert fresh_client(operators["auditor"]).get("/reveal").status_code == 403
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]
    [record] = audit_where(action="role_lapse")
    assert (record["actor"], record["actor_type"], record["outcome"]) == (
        "(time box ended)",
        "system",
        "success",
    )
    assert record["detail"].startswith(f"detokenizer from auditor (user:{operators['auditor'].pk}); time box")
    assert not TimedRole.objects.exists()


def test_a_lapsed_sensitive_role_makes_a_reset_need_two_admins(operators: dict[str, Any]) -> None:
    admin_ops.grant_role(None, UI, "auditor", "detokenizer", hours=1)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert admin_ops.lapse_roles() == 1
        assert admin_ops.reset_operator(operators["vault_admin"], UI, "auditor", WHY) is None


def test_the_lapse_command_takes_what_is_due(operators: dict[str, Any]) -> None:
    admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "tokenizer", hours=2)
    out = io.StringIO()
    call_command("lapse_roles", stdout=out)
    assert out.getvalue().strip() == "0 time-boxed role(s) ended."
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        call_command("lapse_roles", stdout=out)
    assert "1 time-boxed role(s) ended." in out.getvalue()
    assert admin_ops.roles_of(operators["auditor"]) == ["auditor"]


def test_the_operators_page_grants_for_hours_and_shows_the_end(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post(
        "/operators", {"action": "grant", "username": "auditor", "role": "tokenizer", "hours": "8"}
    )
    assert b"Granted tokenizer to auditor for 8 hours." in response.content
    ends = TimedRole.objects.get(role="tokenizer").ends.strftime("%Y-%m-%d %H:%M")
    assert f"until {ends} UTC" in client.get("/operators").content.decode()


@pytest.mark.parametrize(
    "role, hours, message",
    [
        ("tokenizer", 0, "hours: a whole number from 1 to 168"),
        ("tokenizer", 169, "hours: a whole number from 1 to 168"),
        ("vault_admin", 4, "hours: vault_admin is granted without a time limit"),
    ],
)
def test_it_refuses_a_time_box_out_of_bounds(
    operators: dict[str, Any], role: str, hours: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        admin_ops.grant_role(operators["vault_admin"], UI, "auditor", role, WHY, hours=hours)


def test_a_sensitive_request_needs_a_written_reason(operators: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="reason: write at least 10 characters"):
        admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", "because")


def test_a_decision_needs_a_comment_and_both_are_audited(operators: dict[str, Any]) -> None:
    asked = admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    assert asked is not None
    with pytest.raises(InvalidInput, match="comment: write at least 3 characters"):
        admin_ops.approve_request(operators["everyone"], UI, asked.pk, "")
    with pytest.raises(InvalidInput, match="comment"):
        admin_ops.reject_request(operators["everyone"], UI, asked.pk, " ")
    admin_ops.reject_request(operators["everyone"], UI, asked.pk, "use the runbook instead")
    assert audit_where(action="role_grant_requested")[-1]["reason"] == WHY
    assert (
        audit_where(action="role_request_reject")[-1]["reason"]
        == f"{WHY} / rejected: use the runbook instead"
    )


def test_approvers_are_emailed_and_told_through_sns_when_configured(
    operators: dict[str, Any], mailoutbox: list[Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[tuple[str, str, str]] = []
    monkeypatch.setattr("monitoring.aws.publish", lambda *args: published.append(args))
    settings.VAULT_APPROVALS_SNS_TOPIC_ARN = "arn:aws:sns:ap-southeast-2:111122223333:vault-approvals"
    admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY, hours=4)
    [mail] = mailoutbox
    assert mail.to == ["everyone@example.org"]  # neither the requester nor the target
    assert mail.subject == "Token vault: vault_admin asks to grant detokenizer to auditor for 4 hours"
    assert WHY in mail.body and "http://testserver/operators" in mail.body
    [(topic, subject, body)] = published
    assert topic.endswith(":vault-approvals") and subject == mail.subject and WHY in body


def test_the_dashboard_shows_pending_requests_to_vault_admins_only(operators: dict[str, Any]) -> None:
    admin_ops.grant_role(operators["vault_admin"], UI, "auditor", "detokenizer", WHY)
    page = fresh_client(operators["everyone"]).get("/").content.decode()
    assert "Requests waiting for a second vault admin" in page
    assert "vault_admin asks to grant" in page and WHY in page
    assert "Requests waiting" not in fresh_client(operators["auditor"]).get("/").content.decode()
