"""Liveness and readiness: /healthz loads nothing of the vault, so a fresh
process answers it without importing the encryption SDK or boto3."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from tokens.api.responses import from_exception, get_only, ok
from tokens.errors import VaultError


@get_only
def healthz(request: HttpRequest) -> HttpResponse:
    return ok({"status": "ok"})


@get_only
def readyz(request: HttpRequest) -> HttpResponse:
    from tokens import vault  # DynamoDB and KMS: loaded on the first readiness check

    try:
        vault.ready()
    except VaultError as exc:
        return from_exception(exc)
    return ok({"status": "ok"})
