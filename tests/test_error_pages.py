"""The site's 404 and 403 pages, on the operator function and on functions that route no pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.role_urls import RoleUrls


@pytest.mark.parametrize("role", ["writer", "reader", "operator"])
def test_an_unknown_page_gets_the_sites_404(role: str, settings: Any, db: Any) -> None:
    settings.ROOT_URLCONF = RoleUrls(role)
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert b"<h1>Not found</h1>" in response.content
    assert (b"Back to the start page" in response.content) == (role == "operator")


def test_a_refused_page_on_the_operator_function_gets_the_sites_403(operators: dict[str, Any]) -> None:
    from tests.conftest import fresh_client

    response = fresh_client(operators["nobody"]).get("/audit")
    assert response.status_code == 403
    assert b"<h1>Not allowed</h1>" in response.content
