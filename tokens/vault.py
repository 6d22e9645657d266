"""The vault's operations. Every way in (JSON API, operator pages, direct
Lambda events, commands) calls these functions, which check the caller, write
the audit record and count the metric, so the ways in cannot drift apart.

Order inside each operation: check who asks, validate, prepare (read, verify,
encrypt), write the audit record, then commit (write, delete, or hand back
values). If the audit record cannot be written, nothing is committed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from monitoring import metrics
from tokens import audit, crypto, storage, validation
from tokens.actors import Actor, RequestContext
from tokens.errors import (
    AuditUnavailable,
    IntegrityFailure,
    NotFound,
    PermissionDenied,
    VaultError,
)

log = logging.getLogger(__name__)

# Operation -> (the permission it needs, the function roles that serve it).
OPERATIONS: dict[str, tuple[str, frozenset[str]]] = {
    "tokenize": ("tokenize", frozenset({"writer", "operator", "all"})),
    "detokenize": ("detokenize", frozenset({"reader", "operator", "all"})),
    "metadata": ("metadata", frozenset({"reader", "operator", "all"})),
    "change_expiry": ("ttl", frozenset({"operator", "all"})),
    "delete": ("delete", frozenset({"operator", "all"})),
}
MALFORMED = "(malformed)"


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    created_at: int
    expires_at: int
    fields: list[str]

    @property
    def region(self) -> str:
        return self.token_id.split("-")[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "tokenId": self.token_id,
            "region": self.region,
            "createdAt": self.created_at,
            "TTL": self.expires_at,
            "fields": self.fields,
        }


@dataclass(frozen=True)
class Revealed:
    token_id: str
    data: dict[str, str] = field(repr=False)
    expires_at: int

    def as_json(self) -> dict[str, Any]:
        return {"tokenId": self.token_id, "data": self.data, "TTL": self.expires_at}


class _Operation:
    def __init__(self, name: str, actor: Actor, ctx: RequestContext, token_id: str) -> None:
        self.name = name
        self.actor = actor
        self.ctx = ctx
        self.token_id = token_id if not token_id or validation.is_token_id(token_id) else MALFORMED
        self.fields: list[str] = []
        self.audited = False

    def audit(self, outcome: str = "success", detail: str = "") -> None:
        audit.record(
            self.name, outcome, self.actor, self.ctx,
            token_id=self.token_id, fields=self.fields, detail=detail,
        )  # fmt: skip
        self.audited = True


@contextmanager
def _operation(name: str, actor: Actor, ctx: RequestContext, token_id: str = "") -> Iterator[_Operation]:
    permission, served_by = OPERATIONS[name]
    op = _Operation(name, actor, ctx, token_id)
    started = time.monotonic()
    outcome = "success"
    try:
        if settings.VAULT_FUNCTION_ROLE not in served_by:
            raise PermissionDenied(
                f"This {settings.VAULT_FUNCTION_ROLE} function does not serve {name}.",
                internal="function role",
            )
        if not actor.may(permission):
            raise PermissionDenied(f"This caller lacks the '{permission}' permission.")
        yield op
    except VaultError as exc:
        outcome = exc.outcome
        _record_failure(op, exc.outcome, exc.internal or exc.code, exc)
        raise
    except Exception as exc:
        outcome = "error"
        _record_failure(op, "error", type(exc).__name__, exc)
        log.exception("%s failed unexpectedly (request %s)", name, ctx.request_id)
        raise VaultError(internal=type(exc).__name__) from None
    finally:
        metrics.record(name, outcome, time.monotonic() - started)


def _record_failure(op: _Operation, outcome: str, detail: str, exc: BaseException) -> None:
    if isinstance(exc, IntegrityFailure):
        log.warning(
            "integrity failure: %s of %s refused (%s, request %s)",
            op.name, op.token_id, detail, op.ctx.request_id,
        )  # fmt: skip
    if isinstance(exc, AuditUnavailable):
        log.error("audit log unavailable: %s refused (request %s)", op.name, op.ctx.request_id)
        return
    try:
        op.audit(outcome, detail=("after audit: " if op.audited else "") + detail)
    except AuditUnavailable:
        log.error("audit log unavailable while recording a failed %s", op.name)


def _load(token_id: str, now: int) -> dict[str, Any]:
    """The raw item, or NotFound for malformed, unknown and expired alike.

    Expiry is read from the plaintext TTL, so no KMS call is spent on expired
    items; the TTL is signed, so a TTL extended in the table fails at decrypt.
    A token minted in another configured region may not have replicated yet:
    retry briefly. A region code no deployment has cannot replicate, so it is
    not waited for (a made-up id must not hold a worker).
    """
    if not validation.is_token_id(token_id):
        raise NotFound(internal="malformed token id")
    deadline = time.monotonic() + settings.VAULT_REPLICATION_WAIT
    region = token_id.split("-")[1]
    remote = region != settings.VAULT_REGION_CODE and region in settings.REGION_CODES.values()
    delay = 0.1
    while True:
        item = storage.get(token_id)
        if item is not None or not remote or time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay *= 2
    if item is None:
        raise NotFound(internal="unknown token")
    if _expiry(item) <= now:
        raise NotFound(internal="expired token")
    return item


def _expiry(item: dict[str, Any]) -> int:
    try:
        return int(item["TTL"]["N"])
    except (KeyError, ValueError):
        raise IntegrityFailure(internal="item has no numeric TTL") from None


def _info(token_id: str, item: dict[str, Any]) -> TokenInfo:
    try:
        created = int(item["createdAt"]["N"])
    except (KeyError, ValueError):
        raise IntegrityFailure(internal="item has no numeric createdAt") from None
    return TokenInfo(token_id, created, _expiry(item), sorted(set(item) - crypto.RESERVED))


def new_token_id() -> str:
    return f"TKN-{settings.VAULT_REGION_CODE}-{uuid.uuid4()}"


def tokenize(actor: Actor, ctx: RequestContext, data: object) -> TokenInfo:
    """Encrypt `data` ({field: value, ..., optional "TTL"}) into a new token."""
    with _operation("tokenize", actor, ctx) as op:
        now = int(time.time())
        fields, expires_at = validation.tokenize_data(data, now)
        op.token_id = new_token_id()
        op.fields = sorted(fields)
        item = {
            "tokenId": {"S": op.token_id},
            "createdAt": {"N": str(now)},
            "TTL": {"N": str(expires_at)},
            **{name: {"S": value} for name, value in fields.items()},
        }
        sealed = crypto.seal(item)
        op.audit()
        storage.put_new(sealed)
        return TokenInfo(op.token_id, now, expires_at, op.fields)


def detokenize(actor: Actor, ctx: RequestContext, token_id: str, fields: object = None) -> Revealed:
    """Verify, decrypt and return the token's fields (all, or those asked for)."""
    with _operation("detokenize", actor, ctx, token_id) as op:
        requested = validation.field_list(fields)
        now = int(time.time())
        item = _load(token_id, now)
        # Verify before looking at fields, so a tampered item is an integrity
        # failure whatever was asked, and field names are not probed unverified.
        plain = crypto.open_item(item)
        op.fields = _fields_to_reveal(actor, requested, sorted(set(item) - crypto.RESERVED))
        op.audit()
        return Revealed(token_id, {name: plain[name]["S"] for name in op.fields}, _expiry(plain))


def _fields_to_reveal(actor: Actor, requested: list[str] | None, present: list[str]) -> list[str]:
    """The fields a detokenize hands back, or why not.

    The caller's allow-list is checked before the token's own fields, so a
    field-restricted caller asking for a field outside its list is refused
    alike whether the token has that field or not: it learns nothing more.
    """
    allowed = actor.allowed_fields
    if requested is None:
        wanted = present if allowed is None else [name for name in present if name in allowed]
        if not wanted:
            raise PermissionDenied("This caller may not detokenize these fields.")
        return wanted
    if allowed is not None and any(name not in allowed for name in requested):
        raise PermissionDenied("This caller may not detokenize these fields.")
    missing = [name for name in requested if name not in present]
    if missing:
        raise validation.invalid("fields", f"this token has no field '{missing[0]}'")
    return sorted(set(requested))


def metadata(actor: Actor, ctx: RequestContext, token_id: str) -> TokenInfo:
    """Region, creation, expiry and field names, without decrypting anything."""
    with _operation("metadata", actor, ctx, token_id) as op:
        info = _info(token_id, _load(token_id, int(time.time())))
        op.fields = info.fields
        op.audit()
        return info


def change_expiry(actor: Actor, ctx: RequestContext, token_id: str, ttl: object) -> TokenInfo:
    """Re-encrypt the item with a new signed TTL (shorter or longer).

    The TTL is signed, so it cannot be updated in place: the item is verified,
    sealed again and written only if nobody changed it meanwhile. The new
    expiry may not pass creation + maximum retention.
    """
    with _operation("change_expiry", actor, ctx, token_id) as op:
        now = int(time.time())
        new_expiry = validation.ttl(ttl, "TTL", now)
        item = _load(token_id, now)
        info = _info(token_id, item)
        op.fields = info.fields
        if new_expiry > info.created_at + settings.VAULT_MAX_RETENTION:
            raise validation.invalid(
                "TTL", f"a token lives at most {settings.VAULT_MAX_RETENTION} seconds from its creation"
            )
        plain = crypto.open_item(item)
        plain = {k: v for k, v in plain.items() if k not in crypto.SDK_ATTRIBUTES}
        plain["TTL"] = {"N": str(new_expiry)}
        sealed = crypto.seal(plain)
        op.audit(detail=f"TTL {info.expires_at} -> {new_expiry}")
        storage.replace(sealed, item)
        return TokenInfo(token_id, info.created_at, new_expiry, info.fields)


def delete(actor: Actor, ctx: RequestContext, token_id: str) -> None:
    """Purge the token now, ahead of its TTL."""
    with _operation("delete", actor, ctx, token_id) as op:
        op.fields = _info(token_id, _load(token_id, int(time.time()))).fields
        op.audit()
        storage.delete(token_id)


def ready() -> None:
    """Raise Unavailable unless DynamoDB and KMS both answer."""
    storage.ping()
    crypto.ping()
