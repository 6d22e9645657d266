"""The API clients page: create (key shown once), scopes, revoke."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api, audit_where, fresh_client
from tokens.models import ApiClient


def test_it_creates_a_client_and_shows_its_key_once(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    response = client.post(
        "/clients",
        {
            "action": "create",
            "name": "billing",
            "scopes": ["tokenize", "metadata"],
            "allowed_fields": "card, cvc",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = re.search(r'id="key-value">(tvk_[^<]+)<', response.content.decode())
    assert key
    created = ApiClient.objects.get(name="billing")
    assert (created.scopes, created.allowed_fields) == (["tokenize", "metadata"], ["card", "cvc"])
    assert key.group(1) not in client.get("/clients").content.decode()
    assert Api(key.group(1)).tokenize({"card": "4242"}).startswith("TKN-")


def test_it_refuses_a_client_with_the_detokenize_scope(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/clients", {"action": "create", "name": "shadow", "scopes": ["detokenize"]}
    )
    assert response.status_code == 403
    assert b"Only the command line (manage.py createapiclient)" in response.content
    assert not ApiClient.objects.filter(name="shadow").exists()


def test_it_revokes_a_client_after_confirmation(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["vault_admin"])
    api_client, key = ApiClient.issue("billing", ["tokenize"])
    response = client.post("/clients", {"action": "revoke", "client": str(api_client.pk)})
    assert response.status_code == 400
    response = client.post("/clients", {"action": "revoke", "client": str(api_client.pk), "confirm": "yes"})
    # Serving processes remember a verified key for API_KEY_CACHE_SECONDS (30).
    assert b"Revoked billing; its key stops working everywhere within 30 seconds." in response.content
    assert Api(key).post("/api/v1/tokens", {"data": {"card": "1"}}).status_code == 401


def test_it_explains_a_client_without_scopes(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/clients", {"action": "create", "name": "billing"}
    )
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert not ApiClient.objects.filter(name="billing").exists()


def test_the_detokenize_scope_is_greyed_out_with_its_reason(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["vault_admin"]).get("/clients").content.decode()
    box = re.search(r'<input type="checkbox" name="scopes" value="detokenize"[^>]*>', page)
    assert box and " disabled" in box.group(0) and 'aria-describedby="why-detokenize"' in box.group(0)
    why = re.search(r'</label>\s*<span class="help why" id="why-detokenize">(.*?)</span>', page, re.S)
    assert why and "Only the command line grants it" in why.group(1)
    other = re.search(r'<input type="checkbox" name="scopes" value="tokenize"[^>]*>', page)
    assert other and "disabled" not in other.group(0)


def test_a_crafted_detokenize_scope_is_refused_on_the_page_with_the_form_kept(
    operators: dict[str, Any],
) -> None:
    response = fresh_client(operators["vault_admin"]).post(
        "/clients",
        {"action": "create", "name": "shadow", "scopes": ["detokenize", "metadata"], "allowed_fields": "ssn"},
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>API clients</h1>" in page  # the page itself, not the 403 page
    assert 'value="shadow"' in page and 'value="ssn"' in page
    assert re.search(r'value="metadata"[^>]*checked', page)
    assert not re.search(r'value="detokenize"[^>]*checked', page)
    assert not ApiClient.objects.filter(name="shadow").exists()
    assert audit_where(action="api_client_create")[-1]["outcome"] == "denied"


def test_it_shows_each_client_s_rate_limit_and_how_to_raise_it(operators: dict[str, Any]) -> None:
    ApiClient.issue("migration", ["tokenize"], rate_limit=6000)
    ApiClient.issue("billing", ["tokenize"])
    page = fresh_client(operators["vault_admin"]).get("/clients").content.decode()
    assert re.search(r"<strong>migration</strong>.*?<td>6000 a minute</td>", page, re.S)
    assert re.search(r"<strong>billing</strong>.*?<td>default</td>", page, re.S)
    assert "manage.py setratelimit NAME 6000" in page
