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
    return render(request, "403.html", {"message": "Your roles do not allow this page."}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    audit_forbidden(request, f"{request.method} {page_name(request)}: CSRF check failed")
    message = "The form had expired or came from elsewhere. Go back, reload the page and try again."
    return render(request, "403.html", {"message": message}, status=403)


def vault_error(request: HttpRequest, exc: VaultError) -> HttpResponse:
    """A vault refusal as a page; the vault function has already audited it."""
    exc = public(exc)  # an operator, like an API caller, cannot tell tampered from unknown
    template = "403.html" if exc.status == 403 else "tokens/error.html"
    response = render(request, template, {"message": exc.message, "error": exc}, status=exc.status)
    if isinstance(exc, Unavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response
