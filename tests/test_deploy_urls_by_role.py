"""Each function role serves only its URLs: every role against every endpoint."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Api, make_api
from tests.role_urls import RoleUrls
from tokens import vault
from tokens.actors import Actor, RequestContext

SYSTEM = Actor(kind="system", id="test", name="test", permissions=frozenset({"tokenize"}))
ROLES = ("writer", "reader", "operator", "all")

# (method, path, body) -> status per role. {token} is a live token id.
CASES: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/v1/tokens"): {"writer": 201, "reader": 404, "operator": 201, "all": 201},
    ("POST", "/api/v1/detokenize"): {"writer": 404, "reader": 200, "operator": 200, "all": 200},
    ("GET", "/api/v1/tokens/{token}"): {"writer": 404, "reader": 200, "operator": 200, "all": 200},
    ("PATCH", "/api/v1/tokens/{token}"): {"writer": 404, "reader": 405, "operator": 200, "all": 200},
    ("GET", "/api/v1/openapi.json"): {"writer": 404, "reader": 404, "operator": 200, "all": 200},
    ("GET", "/admin/"): {"writer": 404, "reader": 404, "operator": 302, "all": 302},
    ("GET", "/healthz"): {"writer": 200, "reader": 200, "operator": 200, "all": 200},
    ("GET", "/readyz"): {"writer": 200, "reader": 200, "operator": 200, "all": 200},
    ("DELETE", "/api/v1/tokens/{token}"): {"writer": 404, "reader": 405, "operator": 204, "all": 204},
}


@pytest.fixture
def api(db: Any) -> Api:
    return make_api(["tokenize", "detokenize", "metadata", "ttl", "delete"], "everything")


def call(api: Api, method: str, path: str, token: str) -> Any:
    path = path.format(token=token)
    if method == "POST" and path.endswith("/tokens"):
        return api.post(path, {"data": {"pan": "4111"}})
    if method == "POST":
        return api.post(path, {"tokenId": token})
    if method == "PATCH":
        return api.patch(path, {"TTL": int(time.time()) + 7200})
    return {"GET": api.get, "DELETE": api.delete}[method](path)


@pytest.mark.parametrize("role", ROLES)
def test_a_function_role_serves_only_its_urls(role: str, api: Api, settings: Any) -> None:
    token = vault.tokenize(SYSTEM, RequestContext(channel="cli"), {"pan": "4111"}).token_id
    settings.VAULT_FUNCTION_ROLE = role
    settings.ROOT_URLCONF = RoleUrls(role)
    # DELETE comes last in CASES, so the token lives for every other call.
    served = {f"{method} {path}": call(api, method, path, token).status_code for method, path in CASES}
    assert served == {f"{method} {path}": statuses[role] for (method, path), statuses in CASES.items()}


@pytest.mark.parametrize("role", ["writer", "reader"])
def test_an_unserved_api_path_gets_the_api_error_shape(role: str, api: Api, settings: Any) -> None:
    settings.VAULT_FUNCTION_ROLE = role
    settings.ROOT_URLCONF = RoleUrls(role)
    path = "/api/v1/detokenize" if role == "writer" else "/api/v1/tokens"
    response = api.post(path, {"tokenId": "x"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "no_such_endpoint",
            "message": "There is no such API endpoint; see /api/v1/openapi.json.",
        }
    }


def test_a_reader_names_the_one_method_it_serves_on_a_token(api: Api, settings: Any) -> None:
    settings.VAULT_FUNCTION_ROLE = "reader"
    settings.ROOT_URLCONF = RoleUrls("reader")
    response = api.delete("/api/v1/tokens/TKN-SYD-00000000-0000-4000-8000-000000000000")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"] == {"code": "method_not_allowed", "message": "Use GET here."}


def test_the_default_urlconf_follows_the_configured_role() -> None:
    from django.conf import settings

    import vaultsite.urls

    assert settings.VAULT_FUNCTION_ROLE == "all"
    assert [str(p.pattern) for p in vaultsite.urls.urlpatterns] == [
        str(p.pattern) for p in RoleUrls("all").urlpatterns
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v1", "/api/x", "/api/v2/tokens/PA1234567"])
def test_every_path_under_api_gets_the_api_404_for_every_method(
    role: str, path: str, api: Api, settings: Any
) -> None:
    settings.VAULT_FUNCTION_ROLE = role
    settings.ROOT_URLCONF = RoleUrls(role)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        response = api.client.generic(method, path, "{}", content_type="application/json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "no_such_endpoint", (method, path)
        assert response["Cache-Control"] == "no-store"
