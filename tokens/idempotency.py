"""Idempotency keys, after the IETF draft "The Idempotency-Key HTTP Header Field".

A caller (an API client, or an operator's Tokenize form) that sends the same
key with the same request within WINDOW seconds gets the first answer again,
marked replayed, and nothing is done twice. The same key with another request
is refused (422 idempotency_key_reused); the same key while the first request
is still running is refused (409 idempotency_key_in_use).

What is stored, in the idempotency table (one global table, expired by
DynamoDB TTL): a keyed hash of the caller and key (the item's id), a keyed hash
of the request body (never the body: it holds the values), the answer's status
and body (token ids and error messages, never a value), and the expiry.
Answers of 5xx are not kept, so a retry after an outage runs again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tokens import dynamo, validation
from tokens.errors import Conflict, VaultError

log = logging.getLogger(__name__)

WINDOW = 24 * 3600
# A record still "running" after this long belongs to a request that died: a
# retry may take it over (well past the request budget and Lambda's timeout).
ABANDONED_AFTER = 120
# 1 to 255 printable ASCII characters; no space at either end (HTTP would strip it).
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
KEY_SHAPE = re.compile(KEY_PATTERN)
HEADER = "Idempotency-Key"


class KeyReused(VaultError):
    code = "idempotency_key_reused"
    status = 422
    outcome = "invalid"
    message = "This Idempotency-Key was used with a different request; use a new key for a new request."


class KeyInUse(VaultError):
    code = "idempotency_key_in_use"
    status = 409
    outcome = "error"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _mac(label: str, *parts: bytes) -> str:
    # Under the current API-key pepper: a retry that spans a pepper rotation is a new request.
    _, pepper = settings.VAULT_KEYRINGS.current("API_KEY_PEPPER")
    digest = hmac.new(pepper.encode(), label.encode(), hashlib.sha256)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not KEY_SHAPE.fullmatch(key):
        raise validation.invalid(HEADER, "1 to 255 printable ASCII characters, no space at either end")
    return key


def once(
    owner: str,
    key: str,
    request: bytes,
    produce: Callable[[], tuple[int, dict[str, Any]]],
    raw: bytes | None = None,
) -> Answer:
    """The answer to `request` sent by `owner` under `key`: produced now, or replayed.

    `raw`: the request's bytes as sent, when `request` is a canonical form of them.
    Records written before the API hashed canonical JSON hold the hash of the bytes;
    a retry whose bytes hash the same is the same request too (during a deployment,
    and for the 24 hours after it).
    """
    check_key(key)
    item_id = _mac("idempotency-key", owner.encode(), key.encode())
    fingerprint = _mac("idempotency-request", owner.encode(), request)
    same = [fingerprint] + ([_mac("idempotency-request", owner.encode(), raw)] if raw is not None else [])
    now = int(time.time())
    try:
        dynamo.put_item(
            dynamo.put(
                settings.VAULT_IDEMPOTENCY_TABLE,
                {
                    "id": {"S": item_id},
                    "request": {"S": fingerprint},
                    "state": {"S": "running"},
                    "startedAt": {"N": str(now)},
                    "TTL": {"N": str(now + WINDOW)},
                },
                # New, expired, or left running by a request that died.
                "attribute_not_exists(id) OR #ttl < :now OR (#state = :running AND startedAt < :abandoned)",
                {"#ttl": "TTL", "#state": "state"},
                {
                    ":now": {"N": str(now)},
                    ":running": {"S": "running"},
                    ":abandoned": {"N": str(now - ABANDONED_AFTER)},
                },
            )
        )
    except Conflict:
        return _earlier(item_id, same)
    try:
        status, body = produce()
    except BaseException:
        _forget(item_id)
        raise
    if status >= 500:
        _forget(item_id)
    else:
        _keep(item_id, fingerprint, status, body, now)
    return Answer(status, body)


def _earlier(item_id: str, fingerprints: list[str]) -> Answer:
    item = dynamo.get_item(settings.VAULT_IDEMPOTENCY_TABLE, {"id": {"S": item_id}})
    if item is None:  # forgotten between our write and this read: the first request failed
        raise KeyInUse()
    if not any(hmac.compare_digest(item["request"]["S"], f) for f in fingerprints):
        raise KeyReused()
    if item["state"]["S"] != "done":
        raise KeyInUse()
    return Answer(int(item["status"]["N"]), json.loads(item["answer"]["S"]), replayed=True)


def _keep(item_id: str, fingerprint: str, status: int, body: dict[str, Any], started: int) -> None:
    try:
        dynamo.put_item(
            dynamo.put(
                settings.VAULT_IDEMPOTENCY_TABLE,
                {
                    "id": {"S": item_id},
                    "request": {"S": fingerprint},
                    "state": {"S": "done"},
                    "startedAt": {"N": str(started)},
                    "status": {"N": str(status)},
                    "answer": {"S": json.dumps(body, separators=(",", ":"))},
                    "TTL": {"N": str(started + WINDOW)},
                },
            )
        )
    except VaultError:
        # The work is done and answered; a retry meets "in use", then (after
        # ABANDONED_AFTER) runs again.
        log.error("idempotency record not kept (%s)", item_id[:12])


def _forget(item_id: str) -> None:
    try:
        dynamo.delete_item(dynamo.delete(settings.VAULT_IDEMPOTENCY_TABLE, {"id": {"S": item_id}}))
    except VaultError:
        log.error("idempotency record not released (%s)", item_id[:12])
