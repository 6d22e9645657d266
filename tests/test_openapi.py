from __future__ import annotations

import time
from typing import Any

from django.test import Client
from openapi_spec_validator import validate

from tests.conftest import Api, make_api


def test_the_openapi_document_is_valid_and_lists_every_endpoint(db: Any) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/v1/tokens",
        "/api/v1/tokens/batch",
        "/api/v1/tokens/search",
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


def test_it_states_search_deduplication_aliases_and_masks(db: Any) -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    assert schemas["AliasFormat"]["enum"] == ["card-last4", "same-format"]
    assert schemas["Deduplicated"]["properties"]["deduplicated"]["const"] is True
    assert set(schemas["DetokenizeByAlias"]["required"]) == {"alias", "field"}
    assert "mask" in schemas["DetokenizeByToken"]["properties"]
    assert schemas["SearchResults"]["properties"]["tokens"]["maxItems"] == 100
    tokenize = doc["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert tokenize["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Deduplicated"
    }
    codes = tokenize["409"]["content"]["application/json"]["schema"]["properties"]["error"]["properties"]
    assert codes["code"]["enum"] == ["conflict", "idempotency_key_in_use"]
    # A typed field's search value follows its type, as tokenize's does.
    [ssn] = [
        rule["then"]["properties"]["value"]
        for rule in schemas["SearchRequest"]["allOf"]
        if rule["if"]["properties"]["field"]["const"] == "ssn"
    ]
    assert ssn == schemas["TokenData"]["properties"]["ssn"]


def test_the_search_example_is_valid_when_sent(full_api: Api) -> None:
    example = document()["components"]["schemas"]["SearchRequest"]["example"]
    token = full_api.tokenize({example["field"]: example["value"]})
    response = make_api(["search"], "searcher").post("/api/v1/tokens/search", example)
    assert response.status_code == 200
    assert [t["tokenId"] for t in response.json()["tokens"]] == [token]
