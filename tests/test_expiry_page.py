"""Changing a token's expiry within limits, and purging it after confirmation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import audit_where, fresh_client
from tokens import storage, vault
from tokens.actors import Actor, RequestContext

SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize", "metadata"}))


def utc_input(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(seconds))


@pytest.fixture
def token(db: Any) -> str:
    return vault.tokenize(SETUP, RequestContext(channel="cli"), {"ssn": "078-05-1120"}).token_id


def expiry_of(token: str) -> int:
    return vault.metadata(SETUP, RequestContext(channel="cli"), token).expires_at


def test_it_shows_the_token_and_the_limits(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post("/expiry", {"token": token})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="datetime-local"' in page
    latest = utc_input(
        vault.metadata(SETUP, RequestContext(), token).created_at + settings.VAULT_MAX_RETENTION
    )
    assert f'max="{latest}"' in page


@pytest.mark.parametrize("days", [1, 300])
def test_it_shortens_or_extends_the_expiry(operators: dict[str, Any], token: str, days: int) -> None:
    wanted = utc_input(time.time() + days * 86400)
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": wanted}
    )
    assert response.status_code == 200
    assert b"The new expiry is saved." in response.content
    assert utc_input(expiry_of(token)) == wanted
    [record] = audit_where(action="change_expiry", actor="ttl_manager")
    assert record["outcome"] == "success" and record["detail"].startswith("TTL ")


def test_it_refuses_an_expiry_past_the_longest_retention(operators: dict[str, Any], token: str) -> None:
    before = expiry_of(token)
    too_late = utc_input(time.time() + settings.VAULT_MAX_RETENTION + 86400)
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": too_late}
    )
    assert response.status_code == 400
    assert "A token is kept at most 400 days." in response.content.decode()
    assert b"34560000" not in response.content
    assert expiry_of(token) == before
    [record] = audit_where(action="change_expiry", actor="ttl_manager")
    assert record["outcome"] == "invalid"


def test_it_refuses_an_expiry_in_the_past(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": utc_input(time.time() - 3600)}
    )
    assert response.status_code == 400
    assert b"The new expiry is in the past: pick a later time." in response.content


def test_it_refuses_a_date_it_cannot_read(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": "next tuesday"}
    )
    assert response.status_code == 400
    assert b"New expiry: a date and time such as 2031-01-31 12:00, in UTC." in response.content
    assert b"next tuesday" not in response.content


def test_it_asks_before_purging(operators: dict[str, Any], token: str) -> None:
    response = fresh_client(operators["ttl_manager"]).post("/expiry", {"step": "purge", "token": token})
    assert response.status_code == 200
    assert b"Purge this token?" in response.content
    assert b'name="confirm" value="yes"' in response.content
    assert storage.get(token) is not None
    assert audit_where(action="delete") == []


def test_it_purges_once_confirmed(operators: dict[str, Any], token: str) -> None:
    client = fresh_client(operators["ttl_manager"])
    response = client.post("/expiry", {"step": "purge", "confirm": "yes", "token": token})
    assert response.status_code == 200
    assert b"and its values are deleted" in response.content
    assert storage.get(token) is None
    [record] = audit_where(action="delete", actor="ttl_manager")
    assert (record["outcome"], record["token_id"]) == ("success", token)


UNKNOWN = "TKN-SYD-0b2a6f7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"


def without(page: bytes, token: str) -> str:
    """A page less the token id it names, its (random) CSRF tokens and the server's clock
    (the idle sign-out timer's data-server-time ticks between two requests)."""
    import re

    text = page.decode().replace(token, "")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    return re.sub(r'data-server-time="\d+"', "", text)


# --- the form stays after an error; a second purge is told it is done ---------------


def test_the_form_stays_after_an_error_with_what_was_typed(operators: dict[str, Any], token: str) -> None:
    typed = utc_input(time.time() - 3600)
    response = fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "change", "token": token, "expires": typed}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'type="datetime-local"' in page and f'value="{typed}"' in page
    assert 'aria-invalid="true"' in page
    assert token in page and "Purge…" in page  # the token's facts and the purge form too


def test_the_forms_show_the_longest_life_in_days(operators: dict[str, Any], token: str) -> None:
    client = fresh_client(operators["ttl_manager"])
    assert b"A token lives at most 400 days from its creation" in client.get("/expiry").content
    assert (
        b"(400 days from its creation, the longest a token may live)"
        in client.post("/expiry", {"token": token}).content
    )


def test_a_second_purge_now_says_it_is_already_purged(operators: dict[str, Any], token: str) -> None:
    client = fresh_client(operators["ttl_manager"])
    first = client.post("/expiry", {"step": "purge", "confirm": "yes", "token": token})
    second = client.post("/expiry", {"step": "purge", "confirm": "yes", "token": token})
    assert first.status_code == 200 and second.status_code == 200
    assert b"<h1>Already purged</h1>" in second.content
    assert b"No such token" not in second.content
    outcomes = [r["outcome"] for r in audit_where(action="delete", actor="ttl_manager")]
    assert outcomes == ["success", "not_found"]  # the second try is on the record too


def test_someone_elses_purge_is_not_told_apart_from_an_unknown_token(
    operators: dict[str, Any], token: str
) -> None:
    fresh_client(operators["ttl_manager"]).post(
        "/expiry", {"step": "purge", "confirm": "yes", "token": token}
    )
    other = fresh_client(operators["everyone"])
    purged = other.post("/expiry", {"step": "purge", "confirm": "yes", "token": token})
    unknown = other.post(
        "/expiry",
        {"step": "purge", "confirm": "yes", "token": UNKNOWN},
    )
    assert purged.status_code == unknown.status_code == 404
    assert b"No such token, or it has expired." in purged.content
    assert without(purged.content, token) == without(unknown.content, UNKNOWN)


def test_an_unknown_token_is_not_purged_twice_either(operators: dict[str, Any]) -> None:
    client = fresh_client(operators["ttl_manager"])
    for _ in range(2):
        response = client.post(
            "/expiry",
            {"step": "purge", "confirm": "yes", "token": UNKNOWN},
        )
        assert response.status_code == 404 and b"No such token" in response.content


def test_a_double_click_waits_for_the_first_purge_and_says_it_is_done(
    operators: dict[str, Any], token: str
) -> None:
    from tokens.pages import purges

    user = operators["ttl_manager"]
    first = purges.begin(user, token)  # the first click, mid-purge
    second = purges.begin(user, token)
    assert first.owned and not second.owned
    first.done()
    assert purges.done_by(user, token) is not None
    assert purges.done_by(operators["everyone"], token) is None
