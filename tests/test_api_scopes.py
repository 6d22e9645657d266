"""Every endpoint against every scope: allowed only with its own scope."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Api, audit_records, make_api
from tokens.actors import PERMISSIONS

# endpoint name -> (scope it needs, success status)
ENDPOINTS = {
    "tokenize": ("tokenize", 201),
    "detokenize": ("detokenize", 200),
    "metadata": ("metadata", 200),
    "change_expiry": ("ttl", 200),
    "delete": ("delete", 204),
}


def call(api: Api, endpoint: str, token: str) -> Any:
    if endpoint == "tokenize":
        return api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    if endpoint == "detokenize":
        return api.post("/api/v1/detokenize", {"tokenId": token})
    if endpoint == "metadata":
        return api.get(f"/api/v1/tokens/{token}")
    if endpoint == "change_expiry":
        return api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 600})
    return api.delete(f"/api/v1/tokens/{token}")


@pytest.mark.parametrize("scope", PERMISSIONS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_needs_its_own_scope(full_api: Api, endpoint: str, scope: str) -> None:
    token = full_api.tokenize({"pan": "4111"})
    needed, success = ENDPOINTS[endpoint]
    response = call(make_api([scope], f"only-{scope}"), endpoint, token)
    record = audit_records()[-1]
    assert record["action"] == endpoint
    assert record["actor"] == f"only-{scope}"
    if scope == needed:
        assert response.status_code == success
        assert record["outcome"] == "success"
    else:
        assert response.status_code == 403
        assert response.json()["error"]["message"] == f"This caller lacks the '{needed}' permission."
        assert record["outcome"] == "denied"
