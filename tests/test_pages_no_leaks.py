"""The marker value, typed into the pages, shows only on the reveal page:
never in the audit log, logs, the session, another page, or a URL."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.conftest import MARKER, fresh_client
from tokens import audit


def test_the_marker_appears_only_on_the_reveal_page(
    operators: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = fresh_client(operators["everyone"])
    pages: list[tuple[str, bytes]] = []

    def visit(method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        response = client.post(path, data or {}) if method == "POST" else client.get(path, data or {})
        pages.append((f"{method} {path}", response.content))
        return response

    visit("GET", "/tokenize")
    visit("POST", "/tokenize", {"name": ["card", "card"], "value": [MARKER, MARKER]})  # refused, not echoed
    response = visit("POST", "/tokenize", {"name": ["card", "note"], "value": [MARKER, "hi"], "days": "2"})
    token = re.search(r"TKN-SYD-[0-9a-f-]{36}", response.content.decode()).group(0)  # type: ignore[union-attr]
    visit("POST", "/lookup", {"token": token})
    visit("POST", "/reveal", {"token": token, "reason": "short"})  # refused: no proper reason
    revealed = client.post("/reveal", {"token": token, "reason": "INC-77 confirm the card with the customer"})
    assert MARKER.encode() in revealed.content
    visit("POST", "/expiry", {"token": token})
    visit("POST", "/expiry", {"step": "purge", "token": token})
    visit("GET", "/audit")
    visit("GET", "/audit/export.csv")
    visit("GET", "/audit/verify")
    visit("GET", "/")
    visit("POST", "/lookup", {"token": MARKER})  # the marker typed where a token id goes
    visit("POST", "/reveal", {"token": MARKER, "reason": "INC-78 mistyped the token id"})
    visit("GET", "/audit", {"token": MARKER})

    # Every page visited but the successful reveal, refused reveals included.
    assert [where for where, content in pages if MARKER.encode() in content] == []
    assert MARKER not in str([audit.all_records()])
    assert MARKER not in str(dict(client.session))
    assert not [r for r in caplog.records if MARKER in r.getMessage() or MARKER in str(r.__dict__)]
