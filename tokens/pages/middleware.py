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


class OperatorGateMiddleware:
    """A signed-in operator first replaces the one-time password, then enrols
    an authenticator app; until both are done, no other page answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        gate = self._gate(request)
        response = gate or self.get_response(request)
        if not request.path.startswith("/static/"):
            # Operator pages are per person and may show secrets: never cached anywhere.
            response["Cache-Control"] = "no-store"
        return response

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(OPEN_PATHS):
            return None
        logout = reverse("account_logout")
        allowed: tuple[str, ...]
        if must_change_password(user):
            target = reverse("account_change_password")
            allowed = (target, logout)
        elif not is_mfa_enabled(user):
            target = reverse("mfa_activate_totp")
            allowed = (target, logout, reverse("account_reauthenticate"), reverse("mfa_index"))
        else:
            return None
        if request.path in allowed:
            return None
        return HttpResponseRedirect(target)
