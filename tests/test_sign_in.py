"""Signing in (username or email, password, then a TOTP code), failing to,
rate limits, signing out, and what is not there: sign-up, password reset."""

from __future__ import annotations

from typing import Any

import time_machine
from django.conf import settings
from django.test import Client

from tests.conftest import audit_where, make_operator, totp_code

PASSWORD = "correct-horse-battery-9"


def sign_in(client: Client, login: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"login": login, "password": password})


def test_it_signs_in_with_password_then_a_totp_code(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    client = Client()
    response = sign_in(client, "alice")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not signed in until the code
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    [record] = audit_where(action="sign_in")
    assert (record["actor"], record["outcome"], record["channel"], record["detail"]) == (
        "alice", "success", "ui", "password+totp",
    )  # fmt: skip


def test_it_signs_in_with_a_recovery_code_once(clean_cache: None) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    user = make_operator("alice", ("auditor",))
    code = RecoveryCodes.activate(user).get_unused_codes()[0]
    client = Client()
    sign_in(client, "alice")
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.get("/").status_code == 200
    assert audit_where(action="sign_in")[0]["detail"] == "password+recovery_codes"
    again = Client()
    sign_in(again, "alice")
    again.post("/accounts/2fa/authenticate/", {"code": code})
    assert again.get("/").status_code == 302  # spent


def test_it_signs_in_with_an_email_address_too(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    response = sign_in(Client(), "alice@example.org")
    assert response["Location"] == "/accounts/2fa/authenticate/"


def test_it_refuses_a_wrong_password_and_audits_it(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    response = sign_in(Client(), "alice", "not-the-password")
    assert response.status_code == 200
    assert b"not correct" in response.content
    [record] = audit_where(action="sign_in_failed")
    assert (record["actor"], record["actor_id"], record["outcome"]) == (
        "alice",
        f"user:{_pk('alice')}",
        "denied",
    )


def test_it_audits_a_failed_sign_in_for_an_unknown_name_without_the_name(clean_cache: None) -> None:
    sign_in(Client(), "4111111111111111", "whatever-it-was")
    [record] = audit_where(action="sign_in_failed")
    assert record["actor"] == "(unknown account)"
    assert "4111111111111111" not in str(record)


def test_it_refuses_a_wrong_totp_code_and_audits_it(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    client = Client()
    sign_in(client, "alice")
    wrong = "000000" if totp_code() != "000000" else "111111"
    response = client.post("/accounts/2fa/authenticate/", {"code": wrong})
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    [record] = audit_where(action="mfa_failed")
    assert (record["actor"], record["outcome"]) == ("alice", "denied")
    assert audit_where(action="sign_in") == []


def test_it_refuses_a_totp_code_used_once_already(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    code = totp_code()
    first, second = Client(), Client()
    sign_in(first, "alice")
    first.post("/accounts/2fa/authenticate/", {"code": code})
    sign_in(second, "alice")
    second.post("/accounts/2fa/authenticate/", {"code": code})
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_it_rate_limits_failed_sign_ins_per_account(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    for _ in range(5):
        sign_in(Client(), "alice", "guess-guess-guess")
    response = sign_in(Client(), "alice")  # the right password, too late
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert len(audit_where(action="sign_in_failed")) == 5
    [throttled] = audit_where(action="sign_in_throttled")
    assert (throttled["actor"], throttled["outcome"]) == ("alice", "denied")


def test_it_keeps_rate_limits_in_the_shared_database_cache() -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"]


def test_it_signs_out_on_post_and_audits_it(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    client = Client()
    sign_in(client, "alice")
    client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    [record] = audit_where(action="sign_out")
    assert record["actor"] == "alice"


def test_it_signs_out_after_fifteen_idle_minutes(clean_cache: None) -> None:
    make_operator("alice", ("auditor",))
    client = Client()
    with time_machine.travel(1_900_000_000, tick=False) as clock:
        sign_in(client, "alice")
        client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
        clock.shift(14 * 60)
        assert client.get("/").status_code == 200  # activity renews the session
        clock.shift(14 * 60)
        assert client.get("/").status_code == 200
        clock.shift(15 * 60 + 1)
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert settings.SESSION_COOKIE_AGE == settings.VAULT_SESSION_IDLE_MINUTES * 60 == 15 * 60


def test_it_has_no_public_sign_up(clean_cache: None) -> None:
    assert Client().get("/accounts/signup/").status_code == 404
    assert Client().post("/accounts/signup/", {"username": "mallory"}).status_code == 404


def test_it_has_no_self_service_password_reset_or_email_change(clean_cache: None) -> None:
    assert Client().get("/accounts/password/reset/").status_code == 404
    assert Client().get("/accounts/email/").status_code == 404


def test_it_sends_anonymous_visitors_to_the_sign_in_page(db: Any) -> None:
    response = Client().get("/reveal")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reveal"


def _pk(username: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=username).pk)


def test_a_superuser_account_cannot_sign_in(clean_cache: None) -> None:
    user = make_operator("root", ("auditor",))
    user.is_superuser = True
    user.save()
    client = Client()
    response = sign_in(client, "root")
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    [record] = audit_where(action="sign_in_failed")
    assert (record["actor"], record["detail"]) == ("root", "superuser accounts may not sign in")


def test_a_superuser_holds_no_role_even_if_signed_in_by_other_means(clean_cache: None) -> None:
    from tokens.operators import actor_for, holds

    user = make_operator("root", ())
    user.is_superuser = True
    user.save()
    assert actor_for(user).permissions == frozenset()
    assert not holds(user, "tokens.detokenize") and not holds(user, "tokens.manage_operators")


def _answer(response: Any) -> tuple[int, str]:
    """What a sign-in attempt tells the caller, less the per-response CSRF token."""
    import re

    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    return response.status_code, body


def test_a_deactivated_account_gets_the_answer_of_a_wrong_password_even_with_the_right_one(
    clean_cache: None,
) -> None:
    from tokens import admin_ops
    from tokens.actors import RequestContext

    make_operator("alice", ("auditor",))
    admin_ops.deactivate_operator(None, RequestContext(channel="cli"), "alice")
    right, wrong = Client(), Client()
    right_answer = sign_in(right, "alice")
    wrong_answer = sign_in(wrong, "alice", "not-the-password")
    assert _answer(right_answer) == _answer(wrong_answer)
    assert right_answer.status_code == 200 and b"not correct" in right_answer.content
    assert right.get("/").status_code == 302
    records = audit_where(action="sign_in_failed")
    assert [r["detail"] for r in records] == ["deactivated account", "deactivated account"]


def test_a_deactivated_account_with_the_right_password_counts_against_the_rate_limit(
    clean_cache: None,
) -> None:
    from tokens import admin_ops
    from tokens.actors import RequestContext

    make_operator("alice", ("auditor",))
    admin_ops.deactivate_operator(None, RequestContext(channel="cli"), "alice")
    for _ in range(5):
        sign_in(Client(), "alice")
    assert b"Too many failed login attempts" in sign_in(Client(), "alice").content
