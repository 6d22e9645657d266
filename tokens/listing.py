"""The token list: recent tokens' metadata, newest first, a page at a time,
from the listing rows of the index (tokens/index.py), never a scan.

What a page shows is checked against the items themselves (one BatchGetItem of
their keys and TTLs, no ciphertext): a token purged, expired or re-timed in
another region while its row said otherwise shows as the item is. The next
page is named by an opaque cursor, encrypted and authenticated under the
site's secret and bound to the operator and the filters it was made for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from tokens import budget, index, layout, storage, validation
from tokens.actors import Actor, is_actor_id
from tokens.errors import InvalidInput

PAGE_SIZE = 50
# Without a day filter, one page looks this many creation days back at most
# (each day is LIST_SHARDS small queries), then offers to look further.
DAYS_PER_PAGE = 7
# A cursor (the "Older" link) works this long after the page that made it.
CURSOR_MAX_AGE = 3600
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Actor kinds as ids name them (tokens.actors.ACTOR_ID).
_KIND_PREFIX = {"api_client": "client", "operator": "user", "lambda": "lambda", "system": "system"}


def creator_of(actor: Actor) -> str:
    """The actor id a token's listing row names as its creator (never holds `#`)."""
    if is_actor_id(actor.id):
        return actor.id
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", actor.id) or "unknown"
    return f"{_KIND_PREFIX.get(actor.kind, 'system')}:{name}"


@dataclass(frozen=True)
class Listed:
    token_id: str
    created_at: int
    expires_at: int
    fields: tuple[str, ...]
    created_by: str  # an actor id: user:3, client:7, lambda:fn, system:cli

    @property
    def region(self) -> str:
        return self.token_id.split("-")[1]


@dataclass(frozen=True)
class Query:
    """What to list: the filters, and where the page starts (a day, and a row to go past)."""

    created_by: str | None
    day: str | None
    at: str
    before: str | None = None

    def describe(self) -> str:
        return f"created_by={self.created_by or '*'} day={self.day or '*'} from={self.at}"


@dataclass(frozen=True)
class Page:
    tokens: list[Listed]
    newest_day: str  # the creation days this page looked at, newest to oldest
    oldest_day: str
    cursor: str = ""  # the next page's cursor; "" when there is nothing older
    filters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """Tokens found by value (tokens.vault.search), as the list shows them."""

    tokens: list[Listed]
    limited: bool  # search stopped at its limit: older matches may exist and are not shown


def described(found: list[tuple[str, int]], now: int, limit: int) -> Found:
    """The list's facts of the tokens search found ((id, TTL), newest first), in
    that order: read from the items themselves in one batch (nothing is opened
    or decrypted). A token gone or expired since is left out; a token made
    before the list existed has no creator on record ("")."""
    items = storage.get_many([token_id for token_id, _ in found])
    shown: list[Listed] = []
    for token_id, _ in found:
        item = items.get(token_id)
        if item is None:
            continue  # purged since
        try:
            created_at, expires_at = int(item["createdAt"]["N"]), int(item["TTL"]["N"])
        except (KeyError, ValueError):
            continue  # unreadable: a look-up of it fails its integrity check
        if expires_at <= now:
            continue
        fields = tuple(sorted(set(item) - layout.RESERVED))
        creators = [row.sk.split("#", 2)[2] for row in index.rows_of(item) if row.is_listing]
        shown.append(Listed(token_id, created_at, expires_at, fields, creators[0] if creators else ""))
    return Found(shown, len(found) >= limit)


def query(actor: Actor, created_by: object, day: object, cursor: object, now: int) -> Query:
    """The caller's filters, checked; with a cursor, where its page ended."""
    oldest, today = _bounds(now)
    creator = _creator(created_by)
    chosen = _day(day, oldest, today)
    if cursor in (None, ""):
        return Query(creator, chosen, chosen or today)
    if not isinstance(cursor, str):
        raise validation.invalid("cursor", "must be a string")
    position = _open(cursor, actor, now)
    if position.get("c") != (creator or "") or position.get("d") != (chosen or ""):
        raise _stale()
    at, before = position.get("at"), position.get("b") or None
    if not isinstance(at, str) or not DAY.fullmatch(at) or not oldest <= at <= (chosen or today):
        raise _stale()
    if chosen is not None and at != chosen:
        raise _stale()
    if before is not None and (not isinstance(before, str) or _day_of_sk(before) != at):
        raise _stale()
    return Query(creator, chosen, at, before)


def _day_of_sk(sk: str) -> str:
    try:
        return index.day_of(int(sk.split("#", 1)[0]))
    except (ValueError, OverflowError, OSError):
        return ""


def page(actor: Actor, q: Query, now: int, size: int | None = None) -> Page:
    """Up to `size` (PAGE_SIZE) live tokens from where `q` starts, newest first."""
    size = size or PAGE_SIZE
    oldest, _ = _bounds(now)
    found: list[Listed] = []
    day, before = q.at, q.before
    last = before or ""
    looked = 0
    while True:
        rows = index.listed(day, q.created_by, before, size)
        live = (row for row in rows if row.expires_at > now)
        while len(found) < size:
            batch = list(itertools.islice(live, size - len(found)))
            if not batch:
                break
            expiries = storage.expiries([row.token_id for row in batch])
            for row in batch:
                expires_at = expiries.get(row.token_id, 0)
                if expires_at > now:  # the item's word, not the row's
                    found.append(Listed(row.token_id, row.created_at, expires_at, row.fields, row.creator))
                    last = row.sk
        looked += 1
        earlier = _previous(day)
        if len(found) >= size and next(live, None) is not None:
            return _page(actor, q, found, day, Query(q.created_by, q.day, day, last), now)
        if q.day is not None or earlier < oldest:
            return _page(actor, q, found, day, None, now)
        if len(found) >= size or looked >= DAYS_PER_PAGE or _half_spent():
            return _page(actor, q, found, day, Query(q.created_by, q.day, earlier), now)
        day, before = earlier, None


def _page(actor: Actor, q: Query, found: list[Listed], day: str, more: Query | None, now: int) -> Page:
    filters = {"created_by": q.created_by or "", "day": q.day or ""}
    cursor = "" if more is None else _seal(more, actor, now)
    return Page(found, q.at, day, cursor, filters)


def _half_spent() -> bool:
    """True once half the request's budget is spent: the walk back stops there and
    offers older tokens, so a slow day never turns the page into a 503."""
    left = budget.remaining()
    return left is not None and left < settings.VAULT_REQUEST_BUDGET / 2


def _bounds(now: int) -> tuple[str, str]:
    """The oldest creation day a live token can have, and today (UTC)."""
    return index.day_of(now - settings.VAULT_MAX_RETENTION), index.day_of(now)


def _previous(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _creator(value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not is_actor_id(value):
        raise validation.invalid("created_by", "must name an operator or an API client")
    return value


def _day(value: object, oldest: str, today: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not DAY.fullmatch(value):
        raise validation.invalid("day", "must be a date, YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise validation.invalid("day", "must be a date, YYYY-MM-DD") from None
    if not oldest <= value <= today:
        raise validation.invalid("day", f"must be a day from {oldest} to {today} (UTC)")
    return value


# --- the cursor -----------------------------------------------------------------
# AES-GCM under a key derived from SECRET_KEY: the operator cannot read it (it
# names a token id, and ids stay out of addresses) nor make one up; the actor id
# is its associated data, so it works for the operator it was made for only.


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"tokens.listing.cursor", hashlib.sha256).digest()


def _seal(q: Query, actor: Actor, now: int) -> str:
    body = {"c": q.created_by or "", "d": q.day or "", "at": q.at, "b": q.before or "", "i": now}
    nonce = os.urandom(12)
    sealed = AESGCM(_key()).encrypt(nonce, json.dumps(body).encode(), actor.id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def _open(cursor: str, actor: Actor, now: int) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = AESGCM(_key()).decrypt(raw[:12], raw[12:], actor.id.encode())
        body = json.loads(plain)
    except (InvalidTag, ValueError, binascii.Error):
        raise _stale() from None
    issued = body.get("i") if isinstance(body, dict) else None
    if not isinstance(issued, int) or not now - CURSOR_MAX_AGE <= issued <= now + 60:
        raise _stale()
    return dict(body)


def _stale() -> InvalidInput:
    return validation.invalid(
        "cursor", "this page link is no longer valid: start again from the newest tokens"
    )
