from __future__ import annotations

import time
from typing import Any

from django.test import Client
from openapi_spec_validator import validate

from tests.conftest import Api


def test_the_openapi_document_is_valid_and_lists_every_endpoint(db: Any) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/v1/tokens",
        "/api/v1/tokens/batch",
        "/api/v1/detokenize",
        "/api/v1/detokenize/batch",
        "/api/v1/tokens/{tokenId}",
        "/healthz",
        "/readyz",
    }


def test_the_docs_page_lists_the_endpoints(db: Any) -> None:
    page = Client().get("/api/v1/docs").content.decode()
    assert "POST /api/v1/tokens" in page and "PATCH /api/v1/tokens/{tokenId}" in page


def document() -> dict[str, Any]:
    return dict(Client().get("/api/v1/openapi.json").json())


def test_the_examples_are_valid_when_sent(full_api: Api) -> None:
    example = document()["components"]["schemas"]["TokenData"]["example"]
    assert example["TTL"] > time.time()
    response = full_api.post("/api/v1/tokens", {"data": example})
    assert response.status_code == 201
    assert response.json()["TTL"] == example["TTL"]


def test_it_states_the_input_rules(db: Any) -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["FieldName"]["pattern"] == "^[A-Za-z][A-Za-z0-9_]{0,63}$"
    assert schemas["FieldValue"]["maxLength"] == 4096
    assert schemas["FieldList"]["minItems"] == 1
    ttl = schemas["TTL"]
    assert ttl["exclusiveMinimum"] <= time.time() < ttl["exclusiveMinimum"] + 60
    assert ttl["maximum"] - ttl["exclusiveMinimum"] == 400 * 86400
    assert schemas["TokenizeBatchRequest"]["properties"]["records"]["maxItems"] == 100
    assert schemas["TokenData"]["properties"]["cvc"]["pattern"] == "^[0-9]{3,4}$"


def test_every_authenticated_operation_lists_its_refusals_with_retry_after(db: Any) -> None:
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            if method == "parameters" or operation.get("security") == []:
                continue
            answers = operation["responses"]
            assert {"401", "403", "404", "429", "503"} <= set(answers), (method, path)
            assert "Retry-After" in answers["429"]["headers"] and "Retry-After" in answers["503"]["headers"]
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(answers), (method, path)
