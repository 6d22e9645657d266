"""Gates every request of a signed-in operator, and keeps pages out of caches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

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
