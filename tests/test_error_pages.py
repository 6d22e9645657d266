"""The site's 404 and 403 pages, on the operator function and on functions that route no pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import fresh_client
from tests.role_urls import RoleUrls


@pytest.mark.parametrize("role", ["writer", "reader", "operator"])
def test_an_unknown_page_gets_the_sites_404(role: str, settings: Any, db: Any) -> None:
    settings.ROOT_URLCONF = RoleUrls(role)
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert b"<h1>Not found</h1>" in response.content
    assert (b"Back to the start page" in response.content) == (role == "operator")


def test_a_refused_page_on_the_operator_function_gets_the_sites_403(operators: dict[str, Any]) -> None:
    from tests.conftest import fresh_client

    response = fresh_client(operators["nobody"]).get("/audit")
    assert response.status_code == 403
    assert b"<h1>Not allowed</h1>" in response.content


# --- the 403 page says what happened ---------------------------------------------


def test_a_missing_role_is_named(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).get("/reveal")
    page = response.content.decode()
    assert response.status_code == 403
    assert "This page needs the detokenizer role. You hold tokenizer." in page
    assert "Ask a vault admin to grant you the detokenizer role." in page


def test_a_page_open_to_several_roles_names_them_all(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["auditor"]).get("/lookup").content.decode()
    assert "This page needs one of the roles tokenizer, detokenizer or ttl_manager. You hold auditor." in page


def test_a_vault_admin_is_not_told_to_ask_a_vault_admin(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["vault_admin"]).get("/reveal").content.decode()
    assert "You hold vault_admin." in page
    assert (
        "Nobody grants a role to themselves: ask another vault admin to grant you the detokenizer role."
        in page
    )
    assert "Ask a vault admin" not in page


def test_an_operator_without_roles_is_told_so(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["nobody"]).get("/audit").content.decode()
    assert "This page needs the auditor role. You hold no role yet." in page


def test_a_csrf_failure_says_the_form_expired_and_to_reload(operators: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operators["tokenizer"])
    response = client.post("/tokenize", {"name": ["a"], "value": ["b"]})
    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Form expired</h1>" in page
    assert "Reload the page" in page
    assert "grant" not in page


def test_a_refused_self_approval_says_a_second_admin_must_decide(operators: dict[str, Any]) -> None:
    from tokens import admin_ops
    from tokens.actors import RequestContext

    asked = admin_ops.grant_role(
        operators["vault_admin"], RequestContext(channel="ui"), "auditor", "detokenizer",
        reason="INC-9 needs a reveal",
    )  # fmt: skip
    assert asked is not None
    response = fresh_client(operators["vault_admin"]).post(
        "/operators", {"action": "approve", "request": str(asked.pk), "comment": "fine"}
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "You asked for this; another vault admin must decide it." in page
    assert "grant you the" not in page.lower()


def test_the_read_only_admin_says_where_changes_are_made(clean_cache: None) -> None:
    from tests.conftest import make_operator

    erin = make_operator("erin", ("vault_admin",))
    page = fresh_client(erin).get("/admin/auth/user/add/").content.decode()
    assert "The Django admin is read-only: people change on the Operators page" in page


def test_every_role_held_is_listed(operators: dict[str, Any]) -> None:
    from tests.conftest import make_operator

    both = make_operator("both", ("tokenizer", "auditor"))
    page = fresh_client(both).get("/reveal").content.decode()
    assert "This page needs the detokenizer role. You hold tokenizer and auditor." in page
