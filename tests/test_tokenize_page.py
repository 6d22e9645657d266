"""Tokenizing from the page: rows of field name and value, an expiry in days."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings

from tests.conftest import CARD_MARKER, MARKER, audit_where, fresh_client
from tokens import vault
from tokens.actors import Actor, RequestContext

READER = Actor(
    kind="system", id="test", name="test-reader", permissions=frozenset({"detokenize", "metadata"})
)


def token_in(page: bytes) -> str:
    found = re.search(r"TKN-SYD-[0-9a-f-]{36}", page.decode())
    assert found, "the page shows a token"
    return found.group(0)


def test_it_tokenizes_the_rows_into_one_token(operators: dict[str, Any]) -> None:
    data = {"name": ["card_number", "cvc", "", ""], "value": [CARD_MARKER, "123", "", ""], "days": "3"}
    before = int(time.time())
    response = fresh_client(operators["tokenizer"]).post("/tokenize", data)
    assert response.status_code == 200
    assert CARD_MARKER.encode() not in response.content
    token = token_in(response.content)
    revealed = vault.detokenize(READER, RequestContext(channel="cli"), token)
    assert revealed.data == {"card_number": CARD_MARKER, "cvc": "123"}
    assert before + 3 * 86400 <= revealed.expires_at <= int(time.time()) + 3 * 86400
    [record] = audit_where(action="tokenize", actor="tokenizer")
    assert (record["outcome"], record["channel"], record["fields"]) == (
        "success",
        "ui",
        ["card_number", "cvc"],
    )


def test_it_uses_the_default_retention_when_no_days_are_given(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["a"], "value": ["b"], "days": ""}
    )
    info = vault.metadata(READER, RequestContext(channel="cli"), token_in(response.content))
    assert info.expires_at - info.created_at == settings.VAULT_DEFAULT_RETENTION


def test_it_shows_the_token_with_a_copy_button(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": ["a"], "value": ["b"]})
    page = response.content.decode()
    assert '<span class="token" id="token">' in page
    assert 'data-copy="token"' in page


def test_it_never_echoes_values_when_the_form_has_a_problem(operators: dict[str, Any]) -> None:
    data = {"name": ["card_number", "card_number"], "value": [MARKER, "x"], "days": "3"}
    response = fresh_client(operators["tokenizer"]).post("/tokenize", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Row 2: that field name is already used above." in page
    assert "the values were cleared" in page
    assert MARKER not in page
    assert 'value="card_number"' in page  # the names are kept
    assert audit_where(action="tokenize") == []


def test_it_refuses_a_value_without_a_name(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": [""], "value": [MARKER]})
    assert response.status_code == 400
    assert b"Row 1: give the field a name." in response.content
    assert MARKER.encode() not in response.content


def test_it_keeps_the_name_ttl_for_the_expiry(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["TTL"], "value": ["9999999999"]}
    )
    assert response.status_code == 400
    assert b"Row 1: &#x27;TTL&#x27; is a reserved name." in response.content


def test_it_refuses_an_expiry_beyond_the_longest_retention(operators: dict[str, Any]) -> None:
    too_long = str(settings.VAULT_MAX_RETENTION // 86400 + 1)
    response = fresh_client(operators["tokenizer"]).post(
        "/tokenize", {"name": ["a"], "value": ["b"], "days": too_long}
    )
    assert response.status_code == 400
    assert b"Keep for (days): a whole number of days from 1 to 400." in response.content


def test_it_reports_the_vaults_own_validation_and_audits_it(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": ["ttl"], "value": ["b"]})
    assert response.status_code == 400
    assert "Field “ttl”: &#x27;ttl&#x27; is a reserved name.".encode() in response.content
    [record] = audit_where(action="tokenize", actor="tokenizer")
    assert record["outcome"] == "invalid"


def test_a_double_submit_makes_one_token_and_shows_it(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["tokenizer"])
    form = client.get("/tokenize").content.decode()
    once = re.search(r'name="once" value="([0-9a-f]{32})"', form)
    assert once, "the form carries an idempotency key"
    data = {"name": ["cvc"], "value": ["123"], "days": "3", "once": once.group(1)}
    first = client.post("/tokenize", data)
    second = client.post("/tokenize", data)
    assert first.status_code == second.status_code == 200
    assert token_in(first.content) == token_in(second.content)
    assert len(audit_where(action="tokenize", actor="tokenizer")) == 1


def test_two_forms_make_two_tokens(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["tokenizer"])
    tokens = set()
    for _ in range(2):
        once = re.search(r'name="once" value="([0-9a-f]{32})"', client.get("/tokenize").content.decode())
        assert once
        data = {"name": ["cvc"], "value": ["123"], "days": "3", "once": once.group(1)}
        tokens.add(token_in(client.post("/tokenize", data).content))
    assert len(tokens) == 2


def test_a_csv_upload_gives_back_a_csv_of_token_ids(operators: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("cards.csv", f"card_number,cvc\n{CARD_MARKER},123\n,\nx,12\n".encode())
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"csv": upload})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert CARD_MARKER.encode() not in response.content
    lines = response.content.decode().splitlines()
    assert lines[0] == "row,tokenId,TTL,error"
    token = token_in(lines[1].encode())
    assert vault.detokenize(READER, RequestContext(channel="cli"), token).data == {
        "card_number": CARD_MARKER,
        "cvc": "123",
    }
    assert lines[2].startswith('4,,,"invalid_request: data.card_number:')
    [record] = audit_where(action="tokenize", actor="tokenizer", outcome="success")
    assert record["token_ids"] == [token] and record["channel"] == "ui"


def test_a_csv_upload_needs_the_tokenizer_role(operators: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("cards.csv", b"pan\n4111\n")
    response = fresh_client(operators["auditor"]).post("/tokenize", {"csv": upload})
    assert response.status_code == 403


# --- refusals in plain words, with the limits on the form ---------------------------


def test_the_form_shows_its_limits(operators: dict[str, Any]) -> None:
    page = fresh_client(operators["tokenizer"]).get("/tokenize").content.decode()
    assert "up to 32 fields per token" in page
    assert "each value at most 4096 bytes" in page
    assert "kept 1 to 400 days" in page
    assert 'maxlength="4096"' in page


def test_a_type_refusal_names_the_field_as_the_form_does(operators: dict[str, Any]) -> None:
    data = {"name": ["card_number", "note"], "value": ["4111 1111", MARKER], "days": "12"}
    response = fresh_client(operators["tokenizer"]).post("/tokenize", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Field “card_number”: a card number has 12 to 19 digits." in page
    assert "data.card_number" not in page
    assert 'value="card_number"' in page and 'value="note"' in page and 'value="12"' in page  # kept
    assert MARKER not in page and "4111 1111" not in page  # values never come back


def test_too_many_fields_are_refused_in_plain_words(operators: dict[str, Any]) -> None:
    names = [f"f{i}" for i in range(33)]
    response = fresh_client(operators["tokenizer"]).post("/tokenize", {"name": names, "value": ["v"] * 33})
    assert response.status_code == 400
    assert b"At most 32 fields per token." in response.content
