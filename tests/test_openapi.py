from __future__ import annotations

from typing import Any

from django.test import Client
from openapi_spec_validator import validate


def test_the_openapi_document_is_valid_and_lists_every_endpoint(db: Any) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/v1/tokens",
        "/api/v1/detokenize",
        "/api/v1/tokens/{tokenId}",
        "/healthz",
        "/readyz",
    }


def test_the_docs_page_lists_the_endpoints(db: Any) -> None:
    page = Client().get("/api/v1/docs").content.decode()
    assert "POST /api/v1/tokens" in page and "PATCH /api/v1/tokens/{tokenId}" in page
