"""Every role against every page and action: allowed (and audited as done) or
refused with the site's 403 page (and audited as refused)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import ROLE_NAMES, audit_where, fresh_client
from tokens import vault
from tokens.actors import Actor, RequestContext
from tokens.models import ApiClient

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))
EVERY = (*ROLE_NAMES, "nobody", "everyone")
LOOKERS = ("tokenizer", "detokenizer", "ttl_manager", "everyone")


@dataclass(frozen=True)
class Action:
    label: str
    method: str
    path: str
    allowed: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    audited_as: str = ""  # the audit action a permitted request writes


ACTIONS = [
    Action("dashboard", "GET", "/", EVERY),
    Action("tokenize page", "GET", "/tokenize", ("tokenizer", "everyone")),
    Action("tokenize", "POST", "/tokenize", ("tokenizer", "everyone"),
           {"name": ["card"], "value": ["4242 4242 4242 4242"], "days": "2"}, "tokenize"),
    Action("lookup page", "GET", "/lookup", LOOKERS),
    Action("lookup", "POST", "/lookup", LOOKERS, {"token": "{token}"}, "metadata"),
    Action("reveal page", "GET", "/reveal", ("detokenizer", "everyone")),
    Action("reveal", "POST", "/reveal", ("detokenizer", "everyone"),
           {"token": "{token}", "reason": "INC-42: customer asked to confirm the card"}, "detokenize"),
    Action("expiry page", "GET", "/expiry", ("ttl_manager", "everyone")),
    Action("find for expiry", "POST", "/expiry", ("ttl_manager", "everyone"),
           {"token": "{token}"}, "metadata"),
    Action("change expiry", "POST", "/expiry", ("ttl_manager", "everyone"),
           {"step": "change", "token": "{token}", "expires": "{tomorrow}"}, "change_expiry"),
    Action("purge", "POST", "/expiry", ("ttl_manager", "everyone"),
           {"step": "purge", "confirm": "yes", "token": "{token}"}, "delete"),
    Action("audit log", "GET", "/audit", ("auditor", "everyone"), {}, "audit_search"),
    Action("audit export", "GET", "/audit/export.csv", ("auditor", "everyone"), {}, "audit_export"),
    Action("audit verify", "GET", "/audit/verify", ("auditor", "everyone"), {}, "audit_verify"),
    Action("monitoring", "GET", "/monitoring/", ("auditor", "everyone")),
    Action("operators page", "GET", "/operators", ("vault_admin", "everyone")),
    Action("grant a role", "POST", "/operators", ("vault_admin", "everyone"),
           {"action": "grant", "username": "nobody", "role": "auditor"}, "role_grant"),
    Action("deactivate an operator", "POST", "/operators", ("vault_admin", "everyone"),
           {"action": "deactivate", "username": "nobody", "confirm": "yes"}, "operator_deactivate"),
    Action("create an operator", "POST", "/operators", ("vault_admin", "everyone"),
           {"action": "create", "username": "newbie", "email": "newbie@example.org", "roles": ["auditor"]},
           "operator_create"),
    Action("clients page", "GET", "/clients", ("vault_admin", "everyone")),
    Action("create a client", "POST", "/clients", ("vault_admin", "everyone"),
           {"action": "create", "name": "billing", "scopes": ["tokenize"]}, "api_client_create"),
    Action("revoke a client", "POST", "/clients", ("vault_admin", "everyone"),
           {"action": "revoke", "client": "{client}", "confirm": "yes"}, "api_client_revoke"),
    Action("django admin", "GET", "/admin/", ("vault_admin", "everyone")),
]  # fmt: skip


def _fill(data: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    return {k: (v.format(**values) if isinstance(v, str) else v) for k, v in data.items()}


@pytest.mark.parametrize("who", EVERY)
@pytest.mark.parametrize("action", ACTIONS, ids=[a.label for a in ACTIONS])
def test_each_role_is_allowed_or_refused_and_audited(
    action: Action, who: str, operators: dict[str, Any]
) -> None:
    token = vault.tokenize(SETUP, RequestContext(channel="cli"), {"card": "4000 0000 0000 0002"}).token_id
    client_id = ApiClient.issue("old-service", ["tokenize"])[0].pk
    tomorrow = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 86400))
    data = _fill(action.data, {"token": token, "client": str(client_id), "tomorrow": tomorrow})
    client = fresh_client(operators[who])
    if action.method == "GET":
        response = client.get(action.path, data, follow=action.path == "/admin/")
    else:
        response = client.post(action.path, data)
    records = audit_where(actor=who)
    if who in action.allowed:
        assert response.status_code == 200, response.content[:400]
        if action.audited_as:
            done = [r for r in records if r["action"] == action.audited_as]
            assert done and done[-1]["outcome"] == "success" and done[-1]["channel"] == "ui"
        assert not [r for r in records if r["action"] == "page_forbidden"]
    else:
        assert response.status_code == 403
        assert b"Not allowed" in response.content
        [refused] = [r for r in records if r["action"] == "page_forbidden"]
        assert refused["outcome"] == "denied"
        assert refused["detail"].startswith(action.method)
        if action.audited_as:
            assert not [r for r in records if r["action"] == action.audited_as]
