"""Liveness and readiness: /healthz loads nothing of the vault, so a fresh
process answers it without importing the encryption SDK or boto3."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from tokens.api.responses import from_exception, ok
from tokens.errors import VaultError


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return ok({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    from tokens import vault  # DynamoDB and KMS: loaded on the first readiness check

    try:
        vault.ready()
    except VaultError as exc:
        return from_exception(exc)
    return ok({"status": "ok"})
