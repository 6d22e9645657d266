"""API keys: generation, keyed hashing, and the DynamoDB mirror the API
authenticates against (so the request path needs no single-region database)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tokens import dynamo
from tokens.actors import Actor
from tokens.errors import VaultError
from vaultsite.secrets import FIRST_ID

KEY_FORMAT = re.compile(r"^tvk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
LAST_USED_EVERY = 60  # seconds between last-used updates for one client


def new_key() -> tuple[str, str]:
    """(prefix, key). The key is shown once; only its keyed hash is stored."""
    prefix = secrets.token_hex(6)
    return prefix, f"tvk_{prefix}_{secrets.token_urlsafe(32)}"


# A stored hash fits 64 characters (the model's field): the 64 hex digits of
# HMAC-SHA256 under the pepper with id "1", or "<id>$" and the digits cut to fit
# (at least 240 bits) under a pepper made by a later rotation.
HASH_LENGTH = 64


def key_hash(key: str, pepper_id: str | None = None) -> str:
    """The stored form of a key under the current pepper, or under `pepper_id` ("" if unknown)."""
    rings = settings.VAULT_KEYRINGS
    if pepper_id is None:
        pepper_id, pepper = rings.current("API_KEY_PEPPER")
    else:
        found = rings.value("API_KEY_PEPPER", pepper_id)
        if found is None:
            return ""
        pepper = found
    digest = hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()
    return digest if pepper_id == FIRST_ID else f"{pepper_id}${digest}"[:HASH_LENGTH]


def pepper_of(stored: str) -> str:
    return stored.split("$", 1)[0] if "$" in stored else FIRST_ID


def prefix_of(key: str) -> str | None:
    match = KEY_FORMAT.fullmatch(key)
    return match.group(1) if match else None


def _key(prefix: str) -> dict[str, Any]:
    return {"prefix": {"S": prefix}}


def publish(
    prefix: str, *, client_id: int, name: str, scopes: list[str], fields: list[str] | None,
    active: bool, hashed: str, masked: list[str] | None = None, rate_limit: int | None = None,
) -> None:  # fmt: skip
    # An update, not a put: last_used, written by the request path, must survive.
    values: dict[str, Any] = {
        ":client_id": {"N": str(client_id)},
        ":name": {"S": name},
        ":scopes": {"L": [{"S": s} for s in scopes]},
        ":active": {"BOOL": active},
        ":key_hash": {"S": hashed},
        ":masked": {"L": [{"S": f} for f in masked or []]},
    }
    update = (
        "SET client_id = :client_id, #n = :name, scopes = :scopes, active = :active,"
        " key_hash = :key_hash, masked = :masked"
    )
    removed = []
    if fields is None:
        removed.append("#f")
    else:
        values[":fields"] = {"L": [{"S": f} for f in fields]}
        update += ", #f = :fields"
    if rate_limit is None:
        removed.append("rate_limit")
    else:
        values[":rate_limit"] = {"N": str(rate_limit)}
        update += ", rate_limit = :rate_limit"
    if removed:
        update += " REMOVE " + ", ".join(removed)
    dynamo.update_item(
        settings.VAULT_CLIENTS_TABLE, _key(prefix), update, {"#n": "name", "#f": "fields"}, values
    )
    # This process forgets the key at once; other processes within API_KEY_CACHE_SECONDS.
    forget(prefix)


@dataclass(frozen=True)
class _Verified:
    hashed: str
    actor: Actor
    until: float


_lock = threading.Lock()
_verified: dict[str, _Verified] = {}


def forget(prefix: str | None = None) -> None:
    """Drop one remembered key (all of them with no prefix)."""
    with _lock:
        if prefix is None:
            _verified.clear()
        else:
            _verified.pop(prefix, None)


def authenticate(key: str) -> Actor | None:
    """The actor for a presented key, or None. Raises Unavailable if DynamoDB is down.

    A verified key is remembered in this process for API_KEY_CACHE_SECONDS,
    so a steady stream of requests costs no DynamoDB read for the key; a key
    revoked elsewhere keeps working here for at most that long. Only verified
    keys are remembered (by their keyed hash, never the key).
    """
    prefix = prefix_of(key)
    if prefix is None:
        return None
    now = time.monotonic()
    with _lock:
        known = _verified.get(prefix)
    if known is not None and known.until > now:
        cached = key_hash(key, pepper_of(known.hashed))
        if cached and hmac.compare_digest(known.hashed, cached):
            return known.actor
    item = dynamo.get_item(settings.VAULT_CLIENTS_TABLE, _key(prefix))
    if item is None:
        return None
    hashed = item["key_hash"]["S"]
    expected = key_hash(key, pepper_of(hashed))
    if not expected or not hmac.compare_digest(hashed, expected):
        return None
    if not item["active"]["BOOL"]:
        forget(prefix)
        return None
    _touch(prefix, item)
    fields = item.get("fields")
    actor = Actor(
        kind="api_client",
        id=f"client:{item['client_id']['N']}",
        name=item["name"]["S"],
        permissions=frozenset(s["S"] for s in item["scopes"]["L"]),
        allowed_fields=None if fields is None else frozenset(f["S"] for f in fields["L"]),
        masked_fields=frozenset(f["S"] for f in item.get("masked", {}).get("L", [])),
        rate_limit=int(item["rate_limit"]["N"]) if "rate_limit" in item else None,
    )
    if settings.API_KEY_CACHE_SECONDS > 0:
        with _lock:
            _verified[prefix] = _Verified(hashed, actor, now + settings.API_KEY_CACHE_SECONDS)
    return actor


def _touch(prefix: str, item: dict[str, Any]) -> None:
    # Called only when the key is read from DynamoDB (at most once per cache
    # period), and writes at most every LAST_USED_EVERY seconds.
    now = int(time.time())
    if now - int(item.get("last_used", {}).get("N", "0")) < LAST_USED_EVERY:
        return
    try:
        dynamo.update_item(
            settings.VAULT_CLIENTS_TABLE, _key(prefix), "SET last_used = :t", values={":t": {"N": str(now)}}
        )
    except VaultError:
        pass  # last-used is informational; never fail a request over it


def last_used(prefix: str) -> int | None:
    try:
        item = dynamo.get_item(settings.VAULT_CLIENTS_TABLE, _key(prefix), consistent=False)
    except VaultError:
        return None
    if not item or "last_used" not in item:
        return None
    return int(item["last_used"]["N"])
