"""The site's error pages. Every 403 is audited; vault errors keep their safe message."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import audit
from tokens.actors import ANONYMOUS, context_of
from tokens.errors import Unavailable, VaultError, public
from tokens.operators import actor_for

log = logging.getLogger(__name__)


def page_name(request: HttpRequest) -> str:
    """The URL's name, never its path: a path can carry anything a caller typed."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match and match.view_name else "(unresolved)"


def audit_forbidden(request: HttpRequest, detail: str) -> None:
    user = getattr(request, "user", None)
    actor = actor_for(user) if user is not None and user.is_authenticated else ANONYMOUS
    audit.record_or_log("page_forbidden", "denied", actor, context_of(request, "ui"), detail=detail)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: any PermissionDenied raised by a page, the admin or allauth."""
    audit_forbidden(request, f"{request.method} {page_name(request)}")
    message = getattr(exception, "message", "") or "This page is not open to you."
    hint = getattr(exception, "hint", "")
    if not hint and page_name(request).startswith("admin:"):
        hint = (
            "The Django admin is read-only: people change on the Operators page, "
            "API clients on the API clients page."
        )
    return render(request, "403.html", {"message": message, "hint": hint}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    audit_forbidden(request, f"{request.method} {page_name(request)}: CSRF check failed")
    page = {
        "title": "Form expired",
        "message": "The form had expired or came from elsewhere, so nothing was done.",
        "hint": "Reload the page (sign in again if asked: sessions time out), then send it again.",
    }
    return render(request, "403.html", page, status=403)


def vault_error(request: HttpRequest, exc: VaultError) -> HttpResponse:
    """A vault refusal as a page; the vault function has already audited it."""
    exc = public(exc)  # an operator, like an API caller, cannot tell tampered from unknown
    template = "403.html" if exc.status == 403 else "tokens/error.html"
    # A vault refusal says itself why (self-approval, the two-admin rule...): no role hint.
    response = render(request, template, {"message": exc.message, "error": exc}, status=exc.status)
    if isinstance(exc, Unavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response
