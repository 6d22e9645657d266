"""The audit log page: filters, CSV export, chain verification; reading it is itself recorded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings

from tests.conftest import audit_where, fresh_client
from tokens import audit, audit_access, aws
from tokens.actors import Actor, RequestContext
from tokens.pages.forms import AuditFilter

BOB = Actor(kind="operator", id="user:900", name="bob")
SVC = Actor(kind="api_client", id="client:3", name="payments")
TOKEN = "TKN-SYD-0b2a6f7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def history(operators: dict[str, Any]) -> None:
    ui, api = RequestContext(channel="ui", reason="INC-7 card check"), RequestContext(channel="api")
    with time_machine.travel(datetime.now(UTC) - timedelta(days=20)):
        audit.record("tokenize", "success", SVC, api, token_id=TOKEN, fields=["card"])
    audit.record("detokenize", "success", BOB, ui, token_id=TOKEN, fields=["card"])
    audit.record("detokenize", "denied", SVC, api, token_id=TOKEN, fields=["card"])
    audit.record("metadata", "success", BOB, ui, token_id=TOKEN, fields=["card"], detail="=HYPERLINK(1)")


def shown(page: bytes) -> list[tuple[str, str, str]]:
    """(actor, action, outcome) of each table row, in page order."""
    import re

    rows = re.findall(
        r"<tr>\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)<br>.*?</td>\s*"
        r"<td[^>]*>([^<]*)</td>\s*<td class=\"\w+\">([^<]*)</td>",
        page.decode(),
        re.S,
    )
    return [(a.strip(), b, c) for a, b, c in rows]


def test_it_lists_the_last_week_newest_first(history: None, operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit")
    assert response.status_code == 200
    rows = [r for r in shown(response.content) if r[0] in ("bob", "payments")]
    assert rows == [
        ("bob", "metadata", "success"),
        ("payments", "detokenize", "denied"),
        ("bob", "detokenize", "success"),
    ]
    assert b"INC-7 card check" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "bob"}, [("bob", "metadata", "success"), ("bob", "detokenize", "success")]),
        ({"actor": "client:3"}, [("payments", "detokenize", "denied")]),
        ({"action": "detokenize"}, [("payments", "detokenize", "denied"), ("bob", "detokenize", "success")]),
        ({"outcome": "denied", "token": TOKEN}, [("payments", "detokenize", "denied")]),
    ],
)
def test_it_filters_by(
    history: None, operators: dict[str, Any], query: dict[str, str], expected: list[Any]
) -> None:
    response = fresh_client(operators["auditor"]).get("/audit", query)
    assert [r for r in shown(response.content) if r[0] != "auditor"] == expected


def test_it_filters_by_date(history: None, operators: dict[str, Any]) -> None:
    day = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    response = fresh_client(operators["auditor"]).get("/audit", {"start": day, "end": day})
    assert shown(response.content) == [("payments", "tokenize", "success")]


def test_it_refuses_filters_that_are_not_plain_names(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["auditor"])
    assert client.get("/audit", {"token": "4111 1111 1111 1111"}).status_code == 400
    assert client.get("/audit", {"actor": "<script>"}).status_code == 400
    assert audit_where(action="audit_search") == []


@pytest.mark.parametrize("typed", ["4111111111111111", "4111-1111-1111-1111", "bob 4111", "(command line)"])
def test_it_refuses_an_actor_filter_that_is_not_a_name_or_id(typed: str) -> None:
    assert AuditFilter({"actor": typed}).is_valid() is False


@pytest.mark.parametrize("typed", ["bob", "user:3", "client:17", "jane.doe+ops@example.com", "ops-2024"])
def test_it_accepts_names_and_ids_as_actor_filters(typed: str) -> None:
    form = AuditFilter({"actor": typed})
    assert form.is_valid() is True
    assert form.filters()["actor"] == typed


def test_it_neither_records_nor_shows_a_card_number_typed_as_the_actor(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit", {"actor": "4111111111111111"})
    assert response.status_code == 400
    assert b"4111111111111111" not in response.content
    assert audit_where(action="audit_search") == []


def test_the_search_record_holds_no_filter_text_outside_the_strict_shapes(operators: dict[str, Any]) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    audit_access.search(
        operators["auditor"], RequestContext(channel="ui"), start, start, actor="4111111111111111"
    )
    [record] = audit_where(action="audit_search")
    assert record["detail"] == f"{start.date()}..{start.date()} actor=(not shown)"


def test_it_refuses_a_window_of_more_than_a_quarter(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit", {"start": "2025-01-01", "end": "2025-12-31"})
    assert response.status_code == 400
    assert b"search at most 92 days at a time" in response.content


def test_it_records_who_read_the_log_and_with_which_filters(history: None, operators: dict[str, Any]) -> None:
    fresh_client(operators["auditor"]).get("/audit", {"action": "detokenize"})
    [record] = audit_where(action="audit_search")
    assert record["actor"] == "auditor"
    assert "action=detokenize" in record["detail"]


def test_it_exports_csv_with_formulas_defused(history: None, operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit/export.csv", {"actor": "bob"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["actor"], r["action"]) for r in rows] == [("bob", "metadata"), ("bob", "detokenize")]
    assert rows[0]["detail"] == "'=HYPERLINK(1)"
    assert rows[1]["reason"] == "INC-7 card check"
    assert rows[1]["fields"] == "card"
    [record] = audit_where(action="audit_export")
    assert record["actor"] == "auditor"


def test_it_reports_an_intact_chain(history: None, operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit/verify")
    assert response.status_code == 200
    assert b"Intact:" in response.content


def test_it_reports_a_broken_chain_and_where(history: None, operators: dict[str, Any]) -> None:
    first = min((r for r in audit.all_records()), key=lambda r: r["seq"])
    aws.client("dynamodb").delete_item(
        TableName=settings.VAULT_AUDIT_TABLE, Key={"chain": {"S": first["chain"]}, "seq": {"N": "0"}}
    )
    response = fresh_client(operators["auditor"]).get("/audit/verify")
    assert b"Broken." in response.content
    assert b"record 0 is missing" in response.content


def test_it_shows_a_clear_error_when_the_log_cannot_be_written(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = fresh_client(operators["auditor"])
    monkeypatch.setattr(settings, "VAULT_AUDIT_TABLE", "no-such-table")
    response = client.get("/audit")
    assert response.status_code == 503
    assert b"the audit log is unavailable" in response.content


# --- the action filter speaks the pages' words -----------------------------------


def test_the_action_filter_is_a_list_of_the_real_actions_in_the_pages_words(
    operators: dict[str, Any],
) -> None:
    page = fresh_client(operators["auditor"]).get("/audit").content.decode()
    assert '<select name="action"' in page
    assert '<option value="detokenize">Reveal (detokenize)</option>' in page
    assert '<option value="delete">Purge (delete)</option>' in page
    assert '<option value="metadata">Look up (metadata)</option>' in page


@pytest.mark.parametrize("typed", ["reveal", "Reveal", "detokenize"])
def test_a_query_may_name_the_action_by_the_pages_word(
    history: None, operators: dict[str, Any], typed: str
) -> None:
    response = fresh_client(operators["auditor"]).get("/audit", {"action": typed})
    assert response.status_code == 200
    assert shown(response.content) == [("payments", "detokenize", "denied"), ("bob", "detokenize", "success")]
    assert '<option value="detokenize" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "action"), [("purge", "delete"), ("Look up", "metadata"), ("lookup", "metadata")]
)
def test_each_page_word_finds_its_action(typed: str, action: str) -> None:
    form = AuditFilter({"action": typed})
    assert form.is_valid() is True
    assert form.filters()["action"] == action


def test_an_action_the_list_does_not_name_yet_is_still_searchable() -> None:
    form = AuditFilter({"action": "honeytoken_touched"})
    assert form.is_valid() is True
    assert form.filters()["action"] == "honeytoken_touched"


def test_a_malformed_action_is_refused_without_repeating_it(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["auditor"]).get("/audit", {"action": "4111 1111 1111 1111!"})
    assert response.status_code == 400
    assert b"Not an action the audit log records" in response.content
    assert b"4111" not in response.content
    assert audit_where(action="audit_search") == []


def test_the_table_names_each_action_in_the_pages_word_too(history: None, operators: dict[str, Any]) -> None:
    page = fresh_client(operators["auditor"]).get("/audit").content.decode()
    assert '<td title="Reveal">detokenize</td>' in page
