"""The API's one error shape: {"error": {"code", "message", ...details}}."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from tokens.errors import Throttled, Unavailable, VaultError, error_body, public


def error(status: int, code: str, message: str, **details: Any) -> JsonResponse:
    response = JsonResponse(error_body(code, message, **details), status=status)
    response["Cache-Control"] = "no-store"
    return response


def from_exception(exc: VaultError) -> JsonResponse:
    exc = public(exc)
    response = error(exc.status, exc.code, exc.message, **exc.details)
    if isinstance(exc, (Unavailable, Throttled)):
        response["Retry-After"] = str(exc.retry_after)
    return response


def method_not_allowed(methods: tuple[str, ...]) -> JsonResponse:
    response = error(405, "method_not_allowed", f"Use {', '.join(methods)} here.")
    response["Allow"] = ", ".join(methods)
    return response


def no_such_endpoint() -> JsonResponse:
    return error(404, "no_such_endpoint", "There is no such API endpoint; see /api/v1/openapi.json.")


def ok(body: dict[str, Any] | None, status: int = 200) -> JsonResponse:
    response = JsonResponse(body or {}, status=status)
    response["Cache-Control"] = "no-store"
    return response
