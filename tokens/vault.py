"""The vault's operations. Every way in (JSON API, operator pages, direct
Lambda events, commands) calls these functions, which check the caller, write
the audit record and count the metric, so the ways in cannot drift apart.

Order inside each operation: check who asks, validate, prepare (read, verify,
encrypt), then commit with the audit record. A write (tokenize, change of
expiry, delete) goes in one DynamoDB transaction with its record: both land or
neither. A read hands values back only once its record has landed. Any AWS
failure on the way is 503 `unavailable`, within the request's budget.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from monitoring import metrics
from tokens import (
    aliases,
    audit,
    aws,
    budget,
    crypto,
    dynamo,
    fieldtypes,
    fingerprints,
    honeytokens,
    index,
    listing,
    minting,
    ratelimit,
    storage,
    validation,
)
from tokens.actors import Actor, RequestContext
from tokens.errors import (
    AuditUnavailable,
    Conflict,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
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
    "search": ("search", frozenset({"reader", "operator", "all"})),
    "list_tokens": ("metadata", frozenset({"operator", "all"})),
}
# Draws of a fresh alias before a tokenize gives up (each collision is a redraw).
ALIAS_ATTEMPTS = 8
SEARCH_LIMIT = 100


class IndexTaken(Exception):
    """A unique index row (an alias, a deduplication claim) is held by a live token."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__("index row taken")
        self.row = row


MALFORMED = "(malformed)"


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    created_at: int
    expires_at: int
    fields: list[str]
    aliases: dict[str, str] = field(default_factory=dict)  # field -> alias, issued by this tokenize
    deduplicated: bool = False  # an existing token, answered instead of a new one

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
    masked: tuple[str, ...] = ()  # the fields whose values in `data` are masked

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"tokenId": self.token_id, "data": self.data, "TTL": self.expires_at}
        if self.masked:
            body["masked"] = list(self.masked)
        return body


class _Operation:
    def __init__(self, name: str, actor: Actor, ctx: RequestContext, token_id: str) -> None:
        self.name = name
        self.actor = actor
        self.ctx = ctx
        self.token_id = token_id if not token_id or validation.is_token_id(token_id) else MALFORMED
        self.fields: list[str] = []
        self.audited = False

    def _entry(self, outcome: str, detail: str) -> dict[str, Any]:
        return audit.entry(
            self.name, outcome, self.actor, self.ctx,
            token_id=self.token_id, fields=self.fields, detail=detail,
        )  # fmt: skip

    def audit(self, detail: str = "") -> None:
        """The success record of a read, written before any value is handed back."""
        audit.record(
            self.name, "success", self.actor, self.ctx,
            token_id=self.token_id, fields=self.fields, detail=detail,
        )  # fmt: skip
        self.audited = True

    def commit(self, write: dict[str, Any], detail: str = "", rows: Sequence[dict[str, Any]] = ()) -> None:
        """The write, its index rows and its success record in one transaction:
        all land or none. IndexTaken names a unique row another token holds."""
        try:
            with audit.appending(self._entry("success", detail)) as record:
                dynamo.transact_write([write, *rows, record])
        except dynamo.TransactionCanceled as exc:
            item_refused = exc.reason_for(write) == "ConditionalCheckFailed"
            slot_taken = exc.reason_for(record) == "ConditionalCheckFailed"
            taken = [row for row in rows if exc.reason_for(row) == "ConditionalCheckFailed"]
            if taken and not (item_refused or slot_taken):
                raise IndexTaken(taken[0]) from None
            if item_refused and slot_taken:
                # A retry of an attempt whose answer was lost, that had landed
                # (AWS itself answers such a retry as a success, by its token).
                raise aws.unavailable("DynamoDB") from None
            if item_refused:
                raise Conflict(internal="the item changed since it was read") from None
            if slot_taken:
                raise AuditUnavailable(internal="audit chain slot taken") from None
            raise aws.unavailable("DynamoDB") from None  # a conflicting transaction, throttling
        self.audited = True

    def record_failure(self, outcome: str, detail: str) -> None:
        audit.record_or_log(
            self.name, outcome, self.actor, self.ctx, token_id=self.token_id, fields=self.fields,
            detail=("after audit: " if self.audited else "") + detail,
        )  # fmt: skip


@contextmanager
def _operation(name: str, actor: Actor, ctx: RequestContext, token_id: str = "") -> Iterator[_Operation]:
    op = _Operation(name, actor, ctx, token_id)
    started = time.monotonic()
    outcome = "success"
    try:
        _allowed(name, actor)
        yield op
    except VaultError as exc:
        outcome = exc.outcome
        _record_failure(op, exc.outcome, exc.internal or exc.code, exc)
        raise
    except Exception as exc:
        outcome = "error"
        if aws.caused_by_aws(exc):
            # A KMS or DynamoDB failure inside a library (the encryption SDK): 503, not 500.
            _record_failure(op, "error", f"unavailable ({type(exc).__name__})", exc)
            raise Unavailable(internal=type(exc).__name__) from None
        _record_failure(op, "error", type(exc).__name__, exc)
        log.exception("%s failed unexpectedly (request %s)", name, ctx.request_id)
        raise VaultError(internal=type(exc).__name__) from None
    finally:
        # A decoy answers as any token, then is recorded and alerted on, and kept
        # out of the metrics the detector learns from. A new token is never one.
        if name != "tokenize" and honeytokens.is_decoy(op.token_id):
            honeytokens.caught(name, outcome, actor, ctx, [op.token_id], op.fields)
        else:
            metrics.record(name, outcome, time.monotonic() - started, actor)


def _allowed(name: str, actor: Actor) -> None:
    """PermissionDenied unless this function serves `name` and `actor` may do it."""
    permission, served_by = OPERATIONS[name]
    if settings.VAULT_FUNCTION_ROLE not in served_by:
        raise PermissionDenied(
            f"This {settings.VAULT_FUNCTION_ROLE} function does not serve {name}.",
            internal="function role",
        )
    if not actor.may(permission):
        raise PermissionDenied(f"This caller lacks the '{permission}' permission.")


def _record_failure(op: _Operation, outcome: str, detail: str, exc: BaseException) -> None:
    if isinstance(exc, IntegrityFailure):
        log.warning(
            "integrity failure: %s of %s refused (%s, request %s)",
            op.name, op.token_id, detail, op.ctx.request_id,
        )  # fmt: skip
    if isinstance(exc, AuditUnavailable):
        log.error("audit log unavailable: %s refused (request %s)", op.name, op.ctx.request_id)
        return
    op.record_failure(outcome, detail)


def _load(token_id: str, now: int) -> dict[str, Any]:
    """The raw item, or NotFound for malformed, unknown and expired alike.

    Expiry is read from the plaintext TTL, so no KMS call is spent on expired
    items; the TTL is signed, so a TTL extended in the table fails at decrypt.
    A token minted in another configured region may not have replicated yet:
    retry briefly, never past the request's budget. A region code no deployment
    has cannot replicate, so it is not waited for (a made-up id must not hold a
    worker).
    """
    if not validation.is_token_id(token_id):
        raise NotFound(internal="malformed token id")
    wait = settings.VAULT_REPLICATION_WAIT
    left = budget.remaining()
    if left is not None:
        wait = min(wait, left - budget.MIN_ATTEMPT)
    deadline = time.monotonic() + wait
    remote = _replicates(token_id)
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


def tokenize(
    actor: Actor,
    ctx: RequestContext,
    data: object,
    *,
    deduplicate: object = False,
    alias_formats: object = None,
) -> TokenInfo:
    """Encrypt `data` ({field: value, ..., optional "TTL"}) into a new token.

    Each field's fingerprint, and the whole record's, go into the index in the
    same transaction, so search finds the token as soon as it exists. With
    `deduplicate`, a live token holding the same record is answered instead;
    with `alias_formats` ({field: format}), each field gets a unique alias.
    """
    with _operation("tokenize", actor, ctx) as op:
        now = int(time.time())
        fields, expires_at = validation.tokenize_data(data, now)
        if not isinstance(deduplicate, bool):
            raise validation.invalid("deduplicate", "must be true or false")
        formats = validation.alias_formats(alias_formats, fields)
        op.fields = sorted(fields)
        version = fingerprints.newest_version()
        record_fp = fingerprints.of_record(fields, version)
        claim = index.Row.unique("d" + record_fp[1:])
        if deduplicate:
            twin = _twin(fields, now, claim)
            if twin is not None:
                op.token_id = twin.token_id
                op.audit(detail="deduplicated")
                return twin
        op.token_id = new_token_id()
        rows = minting.rows(fields, now, op.token_id, listing.creator_of(actor))
        if deduplicate:
            rows.append(claim)
        for _ in range(ALIAS_ATTEMPTS):
            issued = _draw_aliases(formats, fields)
            all_rows = rows + [index.Row.alias(name, alias) for name, alias in issued.items()]
            item, *row_writes = minting.writes(op.token_id, now, expires_at, fields, all_rows)
            try:
                op.commit(item, rows=row_writes)
            except IndexTaken as taken:
                if taken.row["Put"]["Item"]["fp"]["S"] == claim.fp:
                    # Another request made this record's token a moment ago: answer it.
                    twin = _twin(fields, now, claim)
                    if twin is None:
                        raise Conflict(internal="deduplication claim held by no live token") from None
                    op.token_id = twin.token_id
                    op.audit(detail="deduplicated")
                    return twin
                continue  # an alias collided: draw again
            return TokenInfo(op.token_id, now, expires_at, op.fields, aliases=issued)
        raise Unavailable(internal=f"no free alias after {ALIAS_ATTEMPTS} draws")


def _draw_aliases(formats: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    issued = {}
    for name, kind in formats.items():
        try:
            issued[name] = aliases.generate(kind, name, fields[name])
        except fieldtypes.TypeMismatch as exc:
            raise validation.invalid(f"aliases.{name}", str(exc)) from None
    return issued


def _twin(fields: dict[str, str], now: int, claim: index.Row) -> TokenInfo | None:
    """A live token holding exactly this record (same names, equal normalized values)."""
    holder = index.holder(claim, now)
    found = (
        []
        if holder
        else index.newest([fingerprints.of_record(fields, v) for v in fingerprints.versions()], now, 1)
    )
    token_id = holder or (found[0][0] if found else None)
    if token_id is None:
        return None
    item = storage.get(token_id)
    if item is None or _expiry(item) <= now:
        return None
    crypto.open_item(item)  # a twin answered must verify like any token
    return replace(_info(token_id, item), deduplicated=True)


def search(actor: Actor, ctx: RequestContext, field_name: object, value: object) -> list[tuple[str, int]]:
    """(token id, TTL) of live tokens whose `field_name` holds `value`, newest first.

    Nothing is decrypted: the value's keyed fingerprint is looked up in the
    index. Search is an oracle ("is this SSN in the vault?"), so it is audited
    (field name and a fingerprint prefix, never the value) and has its own rate limit.
    """
    with _operation("search", actor, ctx) as op:
        name, normal_value = validation.search_query(field_name, value)
        op.fields = [name]
        wait = ratelimit.limiter.take(f"search:{actor.kind}:{actor.id}", settings.VAULT_SEARCH_RATE_LIMIT)
        if wait:
            throttled = Throttled(internal="search rate limit")
            throttled.retry_after = wait
            raise throttled
        now = int(time.time())
        fps = [fingerprints.of_field(name, normal_value, v) for v in fingerprints.versions()]
        found = index.newest(fps, now, SEARCH_LIMIT)
        op.audit(detail=f"fingerprint {fps[-1][:12]} found {len(found)}")
        return found


def search_listed(actor: Actor, ctx: RequestContext, field_name: object, value: object) -> listing.Found:
    """What `search` finds, with the facts the token list shows (creation, fields,
    creator). It is that one search, audited, rate-limited and counted as such;
    the facts are read from the items, never from the index again."""
    found = search(actor, ctx, field_name, value)
    return listing.described(found, int(time.time()), SEARCH_LIMIT)


def list_tokens(
    actor: Actor, ctx: RequestContext, *, created_by: object = None, day: object = None, cursor: object = None
) -> listing.Page:
    """A page of recent tokens' metadata (id, region, creation, expiry, field names,
    creator), newest first, optionally of one creator and one creation day.

    Read from the index's listing rows, never by scanning the table; `cursor`
    is the previous page's, and works only for this caller and these filters.
    """
    with _operation("list_tokens", actor, ctx) as op:
        now = int(time.time())
        query = listing.query(actor, created_by, day, cursor, now)
        page = listing.page(actor, query, now)
        op.audit(detail=f"{query.describe()}: {len(page.tokens)} listed")
        return page


def detokenize(
    actor: Actor,
    ctx: RequestContext,
    token_id: str,
    fields: object = None,
    mask: object = False,
    *,
    alias: tuple[str, str] | None = None,
) -> Revealed:
    """Verify, decrypt and return the token's fields (all, or those asked for).

    Values are masked by their field type when the caller asks (`mask`) and,
    whatever it asks, for the fields its client may only see masked. `alias`
    (field, alias) stands in for `token_id`: same rules, answers and audit.
    """
    with _operation("detokenize", actor, ctx, token_id) as op:
        requested = validation.field_list(fields)
        if not isinstance(mask, bool):
            raise validation.invalid("mask", "must be true or false")
        now = int(time.time())
        if alias is not None:
            token_id = _by_alias(alias, now)
            op.token_id = token_id
        item = _load(token_id, now)
        # Verify before looking at fields, so a tampered item is an integrity
        # failure whatever was asked, and field names are not probed unverified.
        plain = crypto.open_item(item)
        op.fields = _fields_to_reveal(actor, requested, sorted(set(item) - crypto.RESERVED))
        masked = _masked(actor, op.fields, mask)
        notes = (["by alias"] if alias else []) + ([f"masked {','.join(masked)}"] if masked else [])
        op.audit(detail="; ".join(notes))
        return Revealed(token_id, _values(plain, op.fields, masked), _expiry(plain), masked)


def _masked(actor: Actor, fields: list[str], mask: bool) -> tuple[str, ...]:
    """The fields whose values go out masked: all when asked, and those the client may only see masked."""
    return tuple(name for name in fields if mask or actor.must_mask(name))


def _values(plain: dict[str, Any], fields: list[str], masked: tuple[str, ...]) -> dict[str, str]:
    return {
        name: fieldtypes.mask(name, plain[name]["S"]) if name in masked else plain[name]["S"]
        for name in fields
    }


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


def _by_alias(alias: tuple[str, str], now: int) -> str:
    field_name, value = alias
    token_id = index.holder(index.Row.alias(field_name, value), now)
    if token_id is None:
        raise NotFound(internal="unknown alias")
    return token_id


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
        op.commit(
            storage.replacement(crypto.seal(plain), item),
            detail=f"TTL {info.expires_at} -> {new_expiry}",
            rows=index.puts(
                index.rows_of(plain), token_id, new_expiry, now, info.fields
            ),  # they expire with it
        )
        return TokenInfo(token_id, info.created_at, new_expiry, info.fields)


def delete(actor: Actor, ctx: RequestContext, token_id: str) -> None:
    """Purge the token now, ahead of its TTL."""
    with _operation("delete", actor, ctx, token_id) as op:
        item = _load(token_id, int(time.time()))
        op.fields = _info(token_id, item).fields
        op.commit(storage.removal(item), rows=index.removals(index.rows_of(item)))


READY_WITHIN = 1.0  # seconds: /readyz answers within 2 s whatever its dependencies do
_ready_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


def _ping() -> None:
    role = settings.VAULT_FUNCTION_ROLE
    with budget.within(READY_WITHIN):
        storage.ping()
        crypto.ping()
        if role in ("writer", "operator", "all"):
            crypto.seal(storage.canary())
        if role in ("reader", "operator", "all"):
            item = storage.get(storage.CANARY_ID)
            if item is None:
                raise Unavailable(internal="no canary item: run vault_bootstrap")
            crypto.open_item(item)


# /readyz proves this function's data path, not only that the services answer:
# a writer seals a canary (GenerateDataKey), a reader reads and opens the canary
# item vault_bootstrap wrote (GetItem, Decrypt), an operator does both. So a
# disabled key or a missing permission turns it red. A success is kept this many
# seconds, so health checks cost little.
READY_CACHE_SECONDS = 10
_ready_until = 0.0


def ready() -> None:
    """Raise Unavailable unless this function can use its table and its key,
    within READY_WITHIN.

    The checks run in a worker so that even a connect that hangs past its
    timeout cannot hold the answer; a late check finishes in the background.
    """
    global _ready_until
    if time.time() < _ready_until:
        return
    try:
        _ready_pool.submit(contextvars.copy_context().run, _ping).result(timeout=READY_WITHIN)
    except FutureTimeout:
        raise Unavailable(internal="readiness checks took too long") from None
    except Unavailable:
        raise
    except Exception as exc:  # a disabled key or a refused call: not ready, whatever the error
        raise Unavailable(internal=f"data path check failed: {type(exc).__name__}") from None
    _ready_until = time.time() + READY_CACHE_SECONDS


def forget_ready() -> None:
    global _ready_until
    _ready_until = 0.0


# --- Batches --------------------------------------------------------------------
# A batch is many records under one check of the caller: each record gets its own
# result (a token, its values, or the error a single call would give), and one
# audit record per outcome names every token concerned (`token_ids`), written
# before anything is committed or handed back. Metrics count every record, so a
# batch weighs what the same single calls would.

BatchResult = TokenInfo | Revealed | VaultError
# One transaction holds a chunk's items and their audit record (DynamoDB allows
# 100 actions); one audit record lists at most this many tokens.
BATCH_CHUNK = storage.TRANSACT_LIMIT - 1


def _unavailable(exc: VaultError) -> Unavailable:
    """A batch entry's answer for a dependency failure that a single call would answer 500 to."""
    log.error("batch entry failed: %s", exc.internal or exc.code)
    return Unavailable(internal=exc.internal or exc.code)


def _check_caller(name: str, actor: Actor, ctx: RequestContext) -> None:
    """The whole-request check of a batch: function role and permission (audited when refused)."""
    try:
        _allowed(name, actor)
    except PermissionDenied as exc:
        _record_failure(_Operation(name, actor, ctx, ""), exc.outcome, exc.internal or exc.code, exc)
        metrics.record(name, exc.outcome, 0.0, actor)
        raise


def _count(
    name: str, results: list[BatchResult], started: float, actor: Actor, ctx: RequestContext, ids: list[str]
) -> None:
    """Metrics per record, and the honeytoken record for decoys (which stay out of the metrics)."""
    each = (time.monotonic() - started) / max(len(results), 1)
    decoys = set(honeytokens.decoys_among(ids)) if name != "tokenize" else set()
    caught: dict[str, list[str]] = {}
    for token_id, result in zip(ids, results, strict=True):
        outcome = result.outcome if isinstance(result, VaultError) else "success"
        if token_id in decoys:
            caught.setdefault(outcome, []).append(token_id)
        else:
            metrics.record(name, outcome, each, actor)
    for outcome, token_ids in sorted(caught.items()):
        honeytokens.caught(name, outcome, actor, ctx, token_ids, ())


def _audit_batch(
    name: str,
    actor: Actor,
    ctx: RequestContext,
    outcome: str,
    token_ids: list[str],
    fields: set[str],
    of: int,
    masked: set[str] | None = None,
) -> None:
    if token_ids:
        detail = f"batch: {len(token_ids)} of {of} records" + (
            f"; masked {','.join(sorted(masked))}" if masked else ""
        )
        audit.record(
            name, outcome, actor, ctx,
            fields=fields, token_ids=token_ids, detail=detail,
        )  # fmt: skip


def _audit_failures(
    name: str, actor: Actor, ctx: RequestContext, ids: list[str], results: list[BatchResult]
) -> None:
    """Best effort, as for single calls: refusals are answered even when the log is down."""
    by_outcome: dict[str, list[str]] = {}
    for token_id, result in zip(ids, results, strict=True):
        if isinstance(result, VaultError) and not isinstance(result, AuditUnavailable):
            by_outcome.setdefault(result.outcome, []).append(token_id or "(new)")
    for outcome, token_ids in sorted(by_outcome.items()):
        try:
            _audit_batch(name, actor, ctx, outcome, token_ids, set(), len(results))
        except AuditUnavailable:
            log.error("audit log unavailable while recording a failed %s batch", name)


def tokenize_batch(actor: Actor, ctx: RequestContext, records: list[object]) -> list[BatchResult]:
    """Tokenize each record's data ({"data": {...}}); a bad record does not stop the others.

    Each chunk of records is one audit record then one transaction of items: if
    a dependency fails, the records not yet written get `unavailable`, and no
    chunk is half-written.
    """
    _check_caller("tokenize", actor, ctx)
    started = time.monotonic()
    now = int(time.time())
    results: list[BatchResult] = []
    ids: list[str] = []
    writes: dict[int, list[dict[str, Any]]] = {}  # each record's item and index rows
    for position, record in enumerate(records):
        try:
            data = validation.batch_record(record, f"records[{position}]")
            fields, expires_at = validation.tokenize_data(data, now)
            info = TokenInfo(new_token_id(), now, expires_at, sorted(fields))
            rows = minting.rows(fields, now, info.token_id, listing.creator_of(actor))
            writes[position] = minting.writes(info.token_id, now, expires_at, fields, rows)
            results.append(info)
            ids.append(info.token_id)
        except VaultError as exc:
            results.append(exc if isinstance(exc, InvalidInput | Unavailable) else _unavailable(exc))
            ids.append("")
    failed: VaultError | None = None
    for chunk in _chunks(writes):
        try:
            if failed is not None:
                raise failed
            infos = [results[i] for i in chunk]
            record = audit.entry(
                "tokenize", "success", actor, ctx,
                fields={f for info in infos if isinstance(info, TokenInfo) for f in info.fields},
                token_ids=[ids[i] for i in chunk], detail=f"batch: {len(chunk)} of {len(records)} records",
            )  # fmt: skip
            # The items and their audit record in one transaction: all land or none.
            with audit.appending(record) as put:
                dynamo.transact_write([put, *(write for i in chunk for write in writes[i])])
        except VaultError as exc:
            failed = exc if isinstance(exc, Unavailable) else _unavailable(exc)
            for i in chunk:
                results[i] = failed
    _audit_failures("tokenize", actor, ctx, ids, results)
    _count("tokenize", results, started, actor, ctx, ids)
    return results


def _chunks(writes: dict[int, list[dict[str, Any]]]) -> list[list[int]]:
    """Records in order, packed so each transaction holds at most BATCH_CHUNK writes (and its record)."""
    chunks: list[list[int]] = []
    size = BATCH_CHUNK
    for position in sorted(writes):
        if size + len(writes[position]) > BATCH_CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(position)
        size += len(writes[position])
    return chunks


def detokenize_batch(actor: Actor, ctx: RequestContext, entries: list[object]) -> list[BatchResult]:
    """Detokenize each entry ({"tokenId", "fields"?}) with the rules of a single call, token by token."""
    try:
        _check_caller("detokenize", actor, ctx)
    except PermissionDenied:
        # A refused batch naming decoys is a use of them, as a refused single call is.
        named = [e.get("tokenId") for e in entries if isinstance(e, dict)]
        decoys = honeytokens.decoys_among(t for t in named if isinstance(t, str))
        if decoys:
            honeytokens.caught("detokenize", "denied", actor, ctx, decoys, ())
        raise
    started = time.monotonic()
    now = int(time.time())
    results: list[BatchResult] = []
    requests: list[tuple[str, object, object] | InvalidInput] = []
    for position, entry in enumerate(entries):
        try:
            requests.append(validation.detokenize_request(entry, f"tokens[{position}]"))
        except InvalidInput as exc:
            requests.append(exc)
    ids = [
        "" if isinstance(r, InvalidInput) else r[0] if validation.is_token_id(r[0]) else MALFORMED
        for r in requests
    ]
    try:
        items = _load_many([r[0] for r in requests if not isinstance(r, InvalidInput)], now)
    except VaultError as exc:
        results = [exc if isinstance(exc, Unavailable) else _unavailable(exc)] * len(requests)
        _count("detokenize", results, started, actor, ctx, ids)
        return results
    for request in requests:
        if isinstance(request, InvalidInput):
            results.append(request)
            continue
        token_id, fields, mask = request
        try:
            requested = validation.field_list(fields)
            if not isinstance(mask, bool):
                raise validation.invalid("mask", "must be true or false")
            item = items.get(token_id)
            if item is None:
                raise NotFound(internal="unknown or expired token")
            plain = crypto.open_item(item)
            wanted = _fields_to_reveal(actor, requested, sorted(set(item) - crypto.RESERVED))
            masked = _masked(actor, wanted, mask)
            results.append(Revealed(token_id, _values(plain, wanted, masked), _expiry(plain), masked))
        except (InvalidInput, NotFound, IntegrityFailure, PermissionDenied, Unavailable) as exc:
            if isinstance(exc, IntegrityFailure):
                log.warning(
                    "integrity failure: detokenize of %s refused (request %s)", token_id, ctx.request_id
                )
            results.append(exc)
        except VaultError as exc:
            results.append(_unavailable(exc))
    revealed = [r for r in results if isinstance(r, Revealed)]
    try:
        for start in range(0, len(revealed), validation.MAX_BATCH):
            chunk = revealed[start : start + validation.MAX_BATCH]
            _audit_batch(
                "detokenize", actor, ctx, "success", [r.token_id for r in chunk],
                {name for r in chunk for name in r.data}, len(requests),
                {name for r in chunk for name in r.masked},
            )  # fmt: skip
    except AuditUnavailable as exc:
        # Nothing is handed back unless its reveal is on record.
        results = [exc if isinstance(r, Revealed) else r for r in results]
    _audit_failures("detokenize", actor, ctx, ids, results)
    _count("detokenize", results, started, actor, ctx, ids)
    return results


def _load_many(token_ids: list[str], now: int) -> dict[str, dict[str, Any]]:
    """Live raw items by id (malformed, unknown and expired ids are left out).

    As `_load`, ids of another configured region that are not here yet are
    asked again, together, until the replication wait is over.
    """
    wanted = [t for t in dict.fromkeys(token_ids) if validation.is_token_id(t)]
    found = storage.get_many(wanted)
    wait = settings.VAULT_REPLICATION_WAIT
    left = budget.remaining()
    if left is not None:
        wait = min(wait, left - budget.MIN_ATTEMPT)
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        waiting = [t for t in wanted if t not in found and _replicates(t)]
        if not waiting or time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay *= 2
        found.update(storage.get_many(waiting))
    live: dict[str, dict[str, Any]] = {}
    for token_id, item in found.items():
        try:
            if _expiry(item) > now:
                live[token_id] = item
        except IntegrityFailure:
            live[token_id] = item  # open_item refuses it, as an integrity failure
    return live


def _replicates(token_id: str) -> bool:
    """True for a token of another region this deployment has (it may still be replicating)."""
    region = token_id.split("-")[1]
    return region != settings.VAULT_REGION_CODE and region in settings.REGION_CODES.values()
