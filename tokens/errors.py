"""The vault's exceptions. Each carries the API error code, HTTP status and a
message that is safe to show a caller: never a sensitive value."""

from __future__ import annotations

from typing import Any


class VaultError(Exception):
    code = "error"
    status = 500
    outcome = "error"
    message = "The vault could not complete the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        internal: str = "",
    ) -> None:
        self.message = message or self.message
        self.details = details or {}
        # For our logs and audit only (still never a sensitive value).
        self.internal = internal
        super().__init__(self.message)


class InvalidInput(VaultError):
    code = "invalid_request"
    status = 400
    outcome = "invalid"
    message = "The request is not valid."


class NotFound(VaultError):
    # Unknown, expired and malformed tokens all end here, with one message.
    code = "token_not_found"
    status = 404
    outcome = "not_found"
    message = "No such token, or it has expired."


class PermissionDenied(VaultError):
    code = "forbidden"
    status = 403
    outcome = "denied"
    message = "This caller may not do that."


class IntegrityFailure(VaultError):
    # A caller sees exactly what NotFound shows; the audit log, logs and
    # metrics record the integrity failure.
    code = "token_not_found"
    status = 404
    outcome = "integrity_failure"
    message = NotFound.message


class Unavailable(VaultError):
    code = "unavailable"
    status = 503
    outcome = "error"
    message = "A vault dependency is unavailable; retry later."
    retry_after = 5


class AuditUnavailable(Unavailable):
    code = "audit_unavailable"
    message = "The audit log could not be written, so nothing was done; retry later."


class Throttled(VaultError):
    code = "throttled"
    status = 429
    outcome = "denied"
    message = "Too many requests; slow down."
    retry_after = 60


class Conflict(VaultError):
    code = "conflict"
    status = 409
    outcome = "error"
    message = "The token changed while this request ran; retry."


def public(exc: VaultError) -> VaultError:
    """What a caller is told: a tampered item looks exactly like an unknown one."""
    return NotFound() if isinstance(exc, IntegrityFailure) else exc


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape, for every way in: {"error": {"code", "message", "details"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}
