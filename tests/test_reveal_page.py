"""Revealing from the pages: the detokenizer role, a written reason, and a
recent sign-in or re-authentication; masked values; nothing kept or cached."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import CARD_MARKER, audit_where, fresh_client, make_operator, totp_code
from tokens import reveal, vault
from tokens.actors import Actor, RequestContext
from tokens.errors import InvalidInput, NotFound, PermissionDenied
from tokens.operators import actor_for
from tokens.pages.auth import AccountAdapter

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))
PASSWORD = "correct-horse-battery-9"
REASON = "INC-1234: customer asked us to confirm the card on file"


@pytest.fixture
def token(db: Any) -> str:
    data = {"card_number": CARD_MARKER, "cvc": "123"}
    return vault.tokenize(SETUP, RequestContext(channel="cli"), data).token_id


def test_it_reveals_with_the_role_a_reason_and_a_fresh_sign_in(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["detokenizer"]).post("/reveal", {"token": token, "reason": REASON})
    assert response.status_code == 200
    page = response.content.decode()
    assert "•••• •••• •••• 0003" in page  # masked by type: a card shows its last four digits
    assert "•••" in page  # a CVC shows nothing
    assert f'<span class="plain">{CARD_MARKER}</span>' in page  # inside a closed <details>
    assert '<details class="value">' in page and '<details class="value" open' not in page
    assert response["Cache-Control"] == "no-store"
    [record] = audit_where(action="detokenize", actor="detokenizer")
    assert record["outcome"] == "success"
    assert record["reason"] == REASON
    assert record["channel"] == "ui"
    assert record["token_id"] == token
    assert record["fields"] == ["card_number", "cvc"]


def test_it_refuses_reveal_without_a_reason(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["detokenizer"]).post("/reveal", {"token": token, "reason": "because"})
    assert response.status_code == 400
    assert f"at least {settings.VAULT_REVEAL_REASON_MIN} characters" in response.content.decode()
    assert CARD_MARKER.encode() not in response.content
    [record] = audit_where(action="detokenize", actor="detokenizer")
    assert (record["outcome"], record["detail"], record["token_id"]) == ("invalid", "no reason", token)


def test_it_refuses_reveal_with_stale_authentication_and_asks_for_a_code(
    operators: dict[str, Any], token: str
) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    response = client.post("/reveal", {"token": token, "reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Freveal"
    assert CARD_MARKER not in str(dict(client.session))
    [record] = audit_where(action="detokenize", actor="detokenizer")
    assert (record["outcome"], record["detail"]) == ("denied", "stale authentication")


def test_it_reveals_after_re_authenticating_with_a_fresh_code(operators: dict[str, Any], token: str) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    client.post("/reveal", {"token": token, "reason": REASON})
    response = client.post("/accounts/2fa/reauthenticate/?next=%2Freveal", {"code": totp_code()})
    assert response.status_code == 200
    assert CARD_MARKER.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    actions = [(r["action"], r["outcome"]) for r in audit_where(actor="detokenizer")]
    assert actions[-3:] == [
        ("detokenize", "denied"),
        ("reauthenticate", "success"),
        ("detokenize", "success"),
    ]


def test_a_password_alone_does_not_re_authenticate_an_operator_with_mfa(
    operators: dict[str, Any], token: str
) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    client.post("/reveal", {"token": token, "reason": REASON})
    response = client.post("/accounts/reauthenticate/?next=%2Freveal", {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Freveal"
    assert [r["outcome"] for r in audit_where(action="detokenize", actor="detokenizer")] == ["denied"]
    assert audit_where(action="reauthenticate", actor="detokenizer") == []


def test_an_operator_with_mfa_is_offered_only_the_authenticator_to_re_authenticate(
    operators: dict[str, Any],
) -> None:
    methods = AccountAdapter().get_reauthentication_methods(operators["detokenizer"])
    assert [m["id"] for m in methods] == ["mfa_reauthenticate"]


def test_an_operator_still_enrolling_re_authenticates_with_the_password(clean_cache: None) -> None:
    methods = AccountAdapter().get_reauthentication_methods(make_operator("newcomer", mfa=False))
    assert [m["id"] for m in methods] == ["reauthenticate"]


def test_it_refuses_reveal_without_the_role(operators: dict[str, Any], token: str) -> None:
    for who in ("tokenizer", "ttl_manager", "auditor", "vault_admin", "nobody"):
        response = fresh_client(operators[who]).post("/reveal", {"token": token, "reason": REASON})
        assert response.status_code == 403
        assert CARD_MARKER.encode() not in response.content
    assert audit_where(action="detokenize") == []


def test_the_reveal_function_leaves_a_caller_without_the_role_to_the_vault(
    operators: dict[str, Any], token: str
) -> None:
    ctx = RequestContext(channel="ui", reason=REASON)
    with pytest.raises(PermissionDenied):
        reveal.reveal(actor_for(operators["vault_admin"]), ctx, token, authenticated_at=time.time())
    [record] = audit_where(action="detokenize", actor="vault_admin")
    assert record["outcome"] == "denied"


def test_the_reveal_function_checks_the_reason_before_freshness(
    operators: dict[str, Any], token: str
) -> None:
    with pytest.raises(InvalidInput):
        reveal.reveal(
            actor_for(operators["detokenizer"]), RequestContext(channel="ui"), token, authenticated_at=None
        )


def test_a_malformed_token_is_refused_before_asking_for_a_code_and_never_kept_in_the_session(
    operators: dict[str, Any],
) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    response = client.post("/reveal", {"token": "4111111111111111", "reason": REASON})
    assert response.status_code == 404
    assert b"No such token, or it has expired." in response.content
    assert "account_reauthentication_state" not in client.session
    assert "4111111111111111" not in str(dict(client.session))


def test_the_reveal_function_checks_the_token_format_before_freshness(operators: dict[str, Any]) -> None:
    ctx = RequestContext(channel="ui", reason=REASON)
    with pytest.raises(NotFound):
        reveal.reveal(actor_for(operators["detokenizer"]), ctx, "4111111111111111", authenticated_at=None)
    [record] = audit_where(action="detokenize", actor="detokenizer")
    assert (record["outcome"], record["token_id"], record["detail"]) == (
        "not_found",
        vault.MALFORMED,
        "malformed token",
    )


def test_it_says_not_found_alike_for_unknown_and_malformed_tokens(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["detokenizer"])
    unknown = client.post(
        "/reveal", {"token": "TKN-SYD-0b2a6f7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", "reason": REASON}
    )
    malformed = client.post("/reveal", {"token": "not a token", "reason": REASON})
    assert unknown.status_code == malformed.status_code == 404
    assert b"No such token, or it has expired." in unknown.content
    assert b"No such token, or it has expired." in malformed.content
    assert b"not a token" not in malformed.content  # only a well-formed token id is shown again


def test_it_does_not_reveal_when_the_audit_log_cannot_be_written(
    operators: dict[str, Any], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = fresh_client(operators["detokenizer"])
    monkeypatch.setattr(settings, "VAULT_AUDIT_TABLE", "no-such-table")
    response = client.post("/reveal", {"token": token, "reason": REASON})
    assert response.status_code == 503
    assert b"the audit log is unavailable" in response.content
    assert b"Nothing was revealed" in response.content
    assert CARD_MARKER.encode() not in response.content


def test_it_keeps_revealed_values_out_of_the_session_and_messages(
    operators: dict[str, Any], token: str
) -> None:
    client = fresh_client(operators["detokenizer"])
    client.post("/reveal", {"token": token, "reason": REASON})
    assert CARD_MARKER not in str(dict(client.session))
    follow_up = client.get("/")
    assert CARD_MARKER.encode() not in follow_up.content


def test_the_re_authentication_page_names_the_reveal_and_the_token_it_is_for(
    operators: dict[str, Any], token: str
) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    asked = client.post("/reveal", {"token": token, "reason": REASON})
    page = client.get(asked["Location"]).content.decode()
    assert f"To <strong>reveal</strong> the values of token <code>{token}</code>" in page
    assert CARD_MARKER not in page and REASON not in page
    # A wrong code keeps saying what it is for.
    wrong = client.post(asked["Location"], {"code": "000000"}).content.decode()
    assert f"token <code>{token}</code>" in wrong


def test_a_re_authentication_for_something_else_does_not_name_an_earlier_reveal(
    operators: dict[str, Any], token: str
) -> None:
    stale = time.time() - settings.VAULT_REVEAL_FRESH_AUTH - 1
    client = fresh_client(operators["detokenizer"], authenticated_at=stale)
    client.post("/reveal", {"token": token, "reason": REASON})
    page = client.get("/accounts/2fa/reauthenticate/?next=%2Faccounts%2F2fa%2F").content.decode()
    assert token not in page
    assert "Confirm who you are before going on" in page
