"""MFA is mandatory, and a new operator's one-time password is spent at first sign-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import audit_where, fresh_client, make_operator, totp_code

PASSWORD = "correct-horse-battery-9"
PAGES = ["/", "/tokenize", "/lookup", "/reveal", "/expiry", "/audit", "/operators", "/clients", "/admin/"]


@pytest.mark.parametrize("path", PAGES)
def test_it_sends_an_operator_without_mfa_to_enrolment_from(path: str, clean_cache: None) -> None:
    user = make_operator(
        "carol", ("tokenizer", "detokenizer", "ttl_manager", "auditor", "vault_admin"), mfa=False
    )
    response = fresh_client(user).get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


@pytest.mark.parametrize("path", PAGES + ["/accounts/2fa/totp/activate/"])
def test_it_sends_an_operator_with_a_one_time_password_to_change_it_from(
    path: str, clean_cache: None
) -> None:
    user = make_operator("carol", ("auditor",), mfa=False, must_change=True)
    response = fresh_client(user).get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"


def test_a_new_operator_changes_the_password_then_enrols_then_gets_in(
    clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    make_operator("carol", ("auditor",), mfa=False, must_change=True)
    client = Client()
    response = client.post("/accounts/login/", {"login": "carol", "password": PASSWORD})
    assert response["Location"] == "/"
    new = "a-fresh-long-passphrase-42"
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new}
    )
    assert response.status_code == 302
    assert client.get("/audit")["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = re.search(r'id="authenticator_secret"\s+value="([A-Z2-7]+)"', page, re.S)
    assert secret, "the enrolment page shows the secret"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret.group(1))})
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert client.get("/audit").status_code == 200
    assert [r["action"] for r in audit_where(actor="carol")][:4] == [
        "sign_in", "password_change", "mfa_added", "mfa_added",
    ]  # fmt: skip
    assert {r["detail"] for r in audit_where(action="mfa_added")} == {"totp", "recovery_codes"}


def test_it_refuses_the_one_time_password_as_the_new_one(clean_cache: None) -> None:
    user = make_operator("carol", ("auditor",), mfa=False, must_change=True)
    client = fresh_client(user)
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert b"Choose a new password" in response.content
    assert client.get("/")["Location"] == "/accounts/password/change/"


def test_the_admin_sends_visitors_to_the_mfa_sign_in(db: Any) -> None:
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"authenticator app" in response.content


def test_the_admin_refuses_an_operator_who_is_not_a_vault_admin(clean_cache: None) -> None:
    user = make_operator("dave", ("detokenizer",))
    response = fresh_client(user).get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    [record] = audit_where(action="page_forbidden")
    assert record["actor"] == "dave"


def test_the_admin_cannot_change_clients_people_or_roles(clean_cache: None) -> None:
    user = make_operator("erin", ("vault_admin",))
    client = fresh_client(user)
    assert client.get("/admin/tokens/apiclient/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/auth/user/add/").status_code == 403
    assert client.post(f"/admin/auth/user/{user.pk}/change/", {"groups": []}).status_code == 403
    assert client.get("/admin/auth/group/add/").status_code == 403


def test_the_admins_password_form_changes_nothing_and_sends_to_the_audited_one(clean_cache: None) -> None:
    user = make_operator("erin", ("vault_admin",))
    client = fresh_client(user)
    new = "a-brand-new-passphrase-42"
    form = {"old_password": "correct-horse-battery-9", "new_password1": new, "new_password2": new}
    response = client.post("/admin/password_change/", form)
    assert response.status_code == 302 and response["Location"] == "/accounts/password/change/"
    assert client.get("/admin/password_change/done/")["Location"] == "/accounts/password/change/"
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery-9") and not user.check_password(new)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "correct-horse-battery-9", "password1": new, "password2": new},
    )
    assert response.status_code == 302
    [record] = audit_where(action="password_change")
    assert (record["actor"], record["outcome"]) == ("erin", "success")


def shown_secret(client: Client) -> str:
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    found = re.search(r'id="authenticator_secret"\s+value="([A-Z2-7]+)"', page, re.S)
    assert found, "the enrolment page shows the secret"
    return found.group(1)


def test_reloading_the_set_up_page_keeps_the_secret_already_scanned(
    clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = fresh_client(make_operator("carol", ("auditor",), mfa=False))
    scanned = shown_secret(client)
    assert shown_secret(client) == scanned == shown_secret(client)
    # A wrong code keeps it too, and a code from the app that scanned it enrols.
    assert client.post("/accounts/2fa/totp/activate/", {"code": "000000"}).status_code == 200
    assert shown_secret(client) == scanned
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(scanned)})
    assert response["Location"] == "/accounts/2fa/recovery-codes/"


def test_another_session_gets_its_own_secret(clean_cache: None) -> None:
    user = make_operator("carol", ("auditor",), mfa=False)
    assert shown_secret(fresh_client(user)) != shown_secret(fresh_client(user))
