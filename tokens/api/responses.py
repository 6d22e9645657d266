"""The API's one error shape: {"error": {"code", "message", ...details}}."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from tokens.errors import IntegrityFailure, NotFound, Unavailable, VaultError


def error(status: int, code: str, message: str, **details: Any) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = JsonResponse({"error": body}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def from_exception(exc: VaultError) -> JsonResponse:
    if isinstance(exc, IntegrityFailure):
        # Callers cannot tell a tampered item from an unknown one.
        return error(NotFound.status, NotFound.code, NotFound.message)
    response = error(exc.status, exc.code, exc.message, **exc.details)
    if isinstance(exc, Unavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response


def ok(body: dict[str, Any] | None, status: int = 200) -> JsonResponse:
    response = JsonResponse(body or {}, status=status)
    response["Cache-Control"] = "no-store"
    return response
