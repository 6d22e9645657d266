"""Middleware of every function: the request budget, the client's address, and a
Content-Length check.

Zappa sets REMOTE_ADDR to the second-to-last X-Forwarded-For entry, which on a
regional endpoint is whatever the client sent. API Gateway's requestContext
holds the address it saw; audit records and rate limits must use that one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse


def gateway_source_ip(event: Any) -> str | None:
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return None
    for holder in (context.get("http"), context.get("identity")):  # v2, v1
        if isinstance(holder, dict) and isinstance(holder.get("sourceIp"), str):
            return str(holder["sourceIp"])
    return None


class RequestBudgetMiddleware:
    """One budget (VAULT_REQUEST_BUDGET) for all AWS calls a request makes: tokens.budget."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from tokens import budget

        with budget.within():
            return self.get_response(request)


class GatewaySourceIpMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ip = gateway_source_ip(request.META.get("lambda.event"))
        if ip:
            request.META["REMOTE_ADDR"] = ip
        return self.get_response(request)


class ContentLengthMiddleware:
    """A Content-Length that is not a number of bytes gets a 400 before anything reads
    the body: Django's own reading of it raises ValueError (a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        if length and not (length.isascii() and length.isdigit()):
            from vaultsite.errors import invalid_request  # the API's JSON, or a plain page

            return invalid_request(request, "The Content-Length header is not a number of bytes.")
        return self.get_response(request)
