"""Audit records for what happens to operators' sign-ins: sign-in, failed
sign-in, sign-out, re-authentication, password and MFA changes.

A sign-in is not refused when the audit log is down (every vault operation
still fails closed); the outage is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import password_changed
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
    authenticator_used,
)
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from tokens import audit
from tokens.actors import ANONYMOUS, Actor, RequestContext, context_of
from tokens.operators import actor_for

log = logging.getLogger(__name__)
UNKNOWN_ACCOUNT = Actor(kind="anonymous", id="", name="(unknown account)")


def _ctx(request: HttpRequest | None) -> RequestContext:
    return RequestContext(channel="ui") if request is None else context_of(request, "ui")


def record(action: str, outcome: str, user: Any, request: HttpRequest | None, detail: str = "") -> None:
    actor = actor_for(user) if user is not None and getattr(user, "pk", None) else ANONYMOUS
    _write(action, outcome, actor, request, detail)


def _write(action: str, outcome: str, actor: Actor, request: HttpRequest | None, detail: str) -> None:
    audit.record_or_log(action, outcome, actor, _ctx(request), detail=detail)


def account_named(login: str) -> Any:
    """The account a login name (username or email) points to, or None."""
    if not login:
        return None
    users = get_user_model().objects
    return users.filter(username__iexact=login).first() or users.filter(email__iexact=login).first()


@receiver(user_logged_in, dispatch_uid="vault-sign-in")
def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    methods = []
    if request is not None:
        methods = [str(r.get("type") or r.get("method")) for r in get_authentication_records(request, user)]
    record("sign_in", "success", user, request, detail="+".join(methods))


@receiver(user_logged_out, dispatch_uid="vault-sign-out")
def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("sign_out", "success", user, request)


@receiver(user_login_failed, dispatch_uid="vault-sign-in-failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    # Only a login name that belongs to an account is recorded: people type
    # passwords into the wrong box, and those must not reach the log.
    login = str(credentials.get("username") or credentials.get("email") or "")
    user = account_named(login)
    if user is None:
        _write("sign_in_failed", "denied", UNKNOWN_ACCOUNT, request, "wrong login or password")
    elif not user.is_active:
        # Refused whatever the password, with the answer a wrong one gets.
        record("sign_in_failed", "denied", user, request, "deactivated account")
    elif user.is_superuser:
        # Refused whatever the password (tokens/backends.py); Django blanks it here.
        record("sign_in_failed", "denied", user, request, "superuser accounts may not sign in")
    else:
        record("sign_in_failed", "denied", user, request, "wrong password")


@receiver(password_changed, dispatch_uid="vault-password-changed")
def _password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record("password_change", "success", user, request)


@receiver(authenticator_added, dispatch_uid="vault-mfa-added")
def _mfa_added(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record("mfa_added", "success", user, request, detail=authenticator.type)


@receiver(authenticator_removed, dispatch_uid="vault-mfa-removed")
def _mfa_removed(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record("mfa_removed", "success", user, request, detail=authenticator.type)


@receiver(authenticator_reset, dispatch_uid="vault-mfa-reset")
def _mfa_reset(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record("mfa_reset", "success", user, request, detail=authenticator.type)


@receiver(authenticator_used, dispatch_uid="vault-mfa-used")
def _mfa_used(sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any) -> None:
    if kwargs.get("reauthenticated"):
        record("reauthenticate", "success", user, request, detail=authenticator.type)


@receiver(authentication_failed, dispatch_uid="vault-mfa-failed")
def _mfa_failed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any = None, **kwargs: Any
) -> None:
    kind = getattr(authenticator, "type", "") or "code"
    record(
        "mfa_failed",
        "denied",
        user,
        request,
        detail=kind + (" (re-authentication)" if kwargs.get("reauthentication") else ""),
    )
