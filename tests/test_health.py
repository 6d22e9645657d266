from __future__ import annotations

from typing import Any

from django.test import Client


def test_healthz_needs_no_dependency(db: Any) -> None:
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_dynamodb_and_kms(db: Any) -> None:
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
