"""Removing or replacing an authenticator needs a code typed for that change:
a session stolen minutes after sign-in cannot swap the authenticator for its own."""

from __future__ import annotations

import time
from typing import Any

import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from tests.conftest import fresh_client, make_operator, totp_code

DEACTIVATE = "/accounts/2fa/totp/deactivate/"
GENERATE = "/accounts/2fa/recovery-codes/generate/"


def totp_of(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_a_session_just_signed_in_cannot_remove_the_authenticator_without_a_code(clean_cache: None) -> None:
    alice = make_operator("alice", ("auditor",))
    client = fresh_client(alice)  # signed in with password and code a moment ago
    response = client.post(DEACTIVATE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/2fa/reauthenticate/?next={DEACTIVATE.replace('/', '%2F')}"
    assert totp_of(alice)


def test_a_code_typed_for_the_removal_removes_it(clean_cache: None) -> None:
    alice = make_operator("alice", ("auditor",))
    client = fresh_client(alice)
    client.post(DEACTIVATE)
    client.post(f"/accounts/2fa/reauthenticate/?next={DEACTIVATE}", {"code": totp_code()})
    assert not totp_of(alice)


def test_a_code_serves_one_change_only(clean_cache: None) -> None:
    alice = make_operator("alice", ("auditor",))
    RecoveryCodes.activate(alice)
    client = fresh_client(alice)
    client.post(GENERATE)
    client.post(f"/accounts/2fa/reauthenticate/?next={GENERATE}", {"code": totp_code()})
    codes = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES).pk
    response = client.post(DEACTIVATE)
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
    assert totp_of(alice)
    assert Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES).pk == codes


def test_a_code_typed_for_a_reveal_minutes_ago_does_not_remove_the_authenticator(clean_cache: None) -> None:
    alice = make_operator("alice", ("auditor",))
    with time_machine.travel(time.time() - 180):
        client = fresh_client(alice)
        client.post("/accounts/2fa/reauthenticate/?next=/", {"code": totp_code()})
    response = client.post(DEACTIVATE)
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
    assert totp_of(alice)


def test_an_operator_without_an_authenticator_enrols_without_a_second_code(clean_cache: None) -> None:
    newcomer = make_operator("newcomer", ("auditor",), mfa=False)
    client = fresh_client(newcomer)
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
