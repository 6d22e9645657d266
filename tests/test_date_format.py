"""One date format on every operator page: "2026-11-29 09:45 UTC"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests.conftest import fresh_client
from tokens import admin_ops
from tokens.actors import RequestContext
from tokens.models import ApiClient
from tokens.templatetags.vault import utc

MOMENT = datetime(2026, 11, 29, 9, 45, 12, tzinfo=UTC)
SHAPE = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\b")
# Any other way of writing a moment: ISO with a T, seconds, or a bare date and time without UTC.
OTHER = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?! UTC)")


@pytest.mark.parametrize(
    "value",
    [
        int(MOMENT.timestamp()),
        str(int(MOMENT.timestamp())),
        MOMENT,
        MOMENT.replace(tzinfo=None),
        MOMENT.astimezone(UTC).isoformat(),
        "2026-11-29T09:45:12.123456+00:00",
    ],
)
def test_every_kind_of_moment_is_written_one_way(value: object) -> None:
    assert utc(value) == "2026-11-29 09:45 UTC"


def test_a_value_that_is_no_moment_is_written_as_nothing() -> None:
    assert utc("") == "" and utc(None) == "" and utc("not a date") == ""


def visible(html: str) -> str:
    """The page's text, less attributes (an audit cell keeps the exact time in its title)."""
    return re.sub(r"<[^>]*>", " ", html)


def test_the_pages_write_dates_one_way(operators: dict[str, Any]) -> None:
    # A moment ahead, so the 4-hour grant has not lapsed when the pages are read.
    at = (datetime.now(UTC) + timedelta(days=1)).replace(second=12, microsecond=0)
    with time_machine.travel(at, tick=False):
        ApiClient.issue("payments", ["tokenize"])
        admin_ops.grant_role(None, RequestContext(channel="cli"), "tokenizer", "ttl_manager", hours=4)
        admin_ops.grant_role(
            operators["vault_admin"], RequestContext(channel="ui"), "auditor", "detokenizer",
            reason="INC-1 needs a reveal",
        )  # fmt: skip
    admin = fresh_client(operators["vault_admin"])
    for path in ("/operators", "/clients", "/"):
        text = visible(admin.get(path).content.decode())
        assert OTHER.search(text) is None, (path, OTHER.search(text))
    operators_page = visible(admin.get("/operators").content.decode())
    assert f"until {(at + timedelta(hours=4)):%Y-%m-%d %H:%M} UTC" in operators_page
    assert f"{at:%Y-%m-%d %H:%M} UTC" in operators_page  # the request's time
    assert f"{at:%Y-%m-%d %H:%M} UTC" in visible(admin.get("/clients").content.decode())
    assert SHAPE.search(visible(fresh_client(operators["tokenizer"]).get("/").content.decode()))


def test_the_audit_log_writes_dates_one_way(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    client.get("/audit")
    text = visible(
        client.get("/audit", {"start": (datetime.now(UTC) - timedelta(days=1)).date()}).content.decode()
    )
    assert SHAPE.search(text)
    assert OTHER.search(text) is None
