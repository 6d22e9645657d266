"""Gates every request of a signed-in operator, and keeps pages out of caches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from tokens.models import OperatorAccount

# Reachable before the one-time password is changed and MFA is enrolled.
OPEN_PATHS = ("/static/", "/healthz", "/readyz", "/api/")


def must_change_password(user: Any) -> bool:
    return OperatorAccount.objects.filter(user=user, must_change_password=True).exists()


def pending_step(user: Any) -> tuple[str, tuple[str, ...]] | None:
    """What a signed-in operator must do first, as (page, pages allowed meanwhile)."""
    logout = reverse("account_logout")
    if must_change_password(user):
        return reverse("account_change_password"), (logout,)
    if not is_mfa_enabled(user):
        allowed = (logout, reverse("account_reauthenticate"), reverse("mfa_index"))
        return reverse("mfa_activate_totp"), allowed
    return None


class RoleLapseMiddleware:
    """Time-boxed roles end on time: before any operator page answers, every
    role whose time is up is taken (tokens.admin_ops.lapse_roles, audited)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(OPEN_PATHS):
            from tokens import admin_ops  # only signed-in operators need it (cold start)

            admin_ops.lapse_roles()
        return self.get_response(request)


class OperatorGateMiddleware:
    """A signed-in operator first replaces the one-time password, then enrols
    an authenticator app; until both are done, no other page answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        step = None
        if user is not None and user.is_authenticated and not request.path.startswith(OPEN_PATHS):
            step = pending_step(user)
        # The navigation shows only to operators past the gate.
        request.operator_ready = step is None  # type: ignore[attr-defined]
        if step is not None and request.path not in (step[0], *step[1]):
            response: HttpResponse = HttpResponseRedirect(step[0])
        else:
            response = self.get_response(request)
        if not request.path.startswith("/static/"):
            # Operator pages are per person and may show secrets: never cached anywhere.
            response["Cache-Control"] = "no-store"
        return response


ACTIVE_COOKIE = "vault_active"  # "<unix seconds>:<signature>": when a signed-in operator last made a request
ACTIVE_SALT = "tokens.pages.idle"


def last_active(request: HttpRequest) -> int | None:
    try:
        return int(str(request.get_signed_cookie(ACTIVE_COOKIE, salt=ACTIVE_SALT)))
    except (KeyError, ValueError, signing.BadSignature):
        return None


class IdleSignOutMiddleware:
    """Says why an operator landed on sign-in after the idle timeout, and lets
    vault.js warn before it. The session is gone by then, so a small signed
    cookie (a time, nothing else; readable by the page's own script) remembers
    the last request of a signed-in operator. A sign-out removes it: signing out
    on purpose is not "signed out after N minutes"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OPEN_PATHS):
            return self.get_response(request)
        was_in = request.user.is_authenticated
        timed_out = False
        if not was_in:
            last = last_active(request)
            timed_out = last is not None and time.time() - last >= settings.SESSION_COOKIE_AGE
        request.idle_signed_out_minutes = settings.SESSION_COOKIE_AGE // 60 if timed_out else 0  # type: ignore[attr-defined]
        response = self.get_response(request)
        if request.user.is_authenticated:
            response.set_signed_cookie(
                ACTIVE_COOKIE,
                str(int(time.time())),
                salt=ACTIVE_SALT,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=False,  # vault.js reads the time to warn in every open tab alike
                samesite="Lax",
            )
        elif was_in or (timed_out and request.path == _sign_in_path()):
            response.delete_cookie(ACTIVE_COOKIE, samesite="Lax")
        return response


def _sign_in_path() -> str | None:
    try:
        return reverse("account_login")
    except NoReverseMatch:  # writer and reader functions route no pages
        return None
