"""The audit log: append-only, hash-chained records in a DynamoDB table.

Each process writes its own chain (id = region + random suffix). Record n holds
the MAC of record n-1, and every MAC is an HMAC under AUDIT_HMAC_KEY (the value
whose id the record carries in key_id, so chains survive a rotation), so whoever
can write the table still cannot alter, delete, insert or reorder records
without `verify_audit` noticing. The table is a DynamoDB global table, so either
region keeps writing when the other is down. Records never hold a field value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from tokens import dynamo
from tokens.actors import Actor, RequestContext, is_actor_id
from tokens.errors import AuditUnavailable, VaultError
from vaultsite.secrets import FIRST_ID

log = logging.getLogger(__name__)

GENESIS = "0" * 64
TEXT_FIELDS = (
    "at", "day", "actor", "actor_type", "action", "token_id", "outcome", "reason",
    "source_ip", "user_agent", "request_id", "region", "channel", "detail", "prev",
)  # fmt: skip
MAX_TEXT = 512


@dataclass
class _Chain:
    id: str
    seq: int = 0
    prev: str = GENESIS


_lock = threading.Lock()
_chain: _Chain | None = None


def _new_chain() -> _Chain:
    return _Chain(id=f"{settings.VAULT_REGION_CODE}-{uuid.uuid4().hex[:16]}")


def mac(record: dict[str, Any]) -> str:
    """HMAC under the audit key the record names (key_id; "1" if it names none), "" if unknown."""
    key = settings.VAULT_KEYRINGS.value("AUDIT_HMAC_KEY", str(record.get("key_id", FIRST_ID)))
    if key is None:
        return ""
    body = {k: v for k, v in record.items() if k != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def entry(
    action: str,
    outcome: str,
    actor: Actor,
    ctx: RequestContext,
    *,
    token_id: str = "",
    fields: Iterable[str] = (),
    detail: str = "",
    token_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """A record, not yet placed in a chain (see `appending`).

    A batch request's record names every token it concerns in `token_ids`;
    `search` finds a token there as well.
    """
    now = datetime.now(UTC)
    built: dict[str, Any] = {
        "at": now.isoformat(timespec="microseconds"),
        "day": now.date().isoformat(),
        "actor": actor.name[:MAX_TEXT],
        "actor_id": actor.id[:MAX_TEXT],
        "actor_type": actor.kind,
        "action": action,
        "token_id": token_id,
        "fields": sorted(fields),
        "outcome": outcome,
        "reason": ctx.reason[:MAX_TEXT],
        "source_ip": ctx.source_ip[:64],
        "user_agent": ctx.user_agent[:MAX_TEXT],
        "request_id": ctx.request_id[:128],
        "region": settings.VAULT_REGION_CODE,
        "channel": ctx.channel,
        "detail": detail[:MAX_TEXT],
    }
    if token_ids:
        built["token_ids"] = list(token_ids)
    return built


@contextmanager
def appending(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Place `record` in this process's chain and yield its conditional Put.

    The caller writes the Put (alone, or in a transaction with what the record
    describes) inside the block; the chain moves on only if the block ends
    normally. A transaction DynamoDB canceled for another item's sake left
    nothing, so the slot stays free. Any other failure may or may not have
    landed (a lost answer, a retry that found its own earlier write): the chain
    ends, and the next record starts a new one, so a verifier never sees a gap
    or a fork. Holding the lock keeps the slots in order.
    """
    global _chain
    with _lock:
        if _chain is None:
            _chain = _new_chain()
        key_id, _ = settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")
        record.update(chain=_chain.id, seq=_chain.seq, prev=_chain.prev, key_id=key_id)
        record["mac"] = mac(record)
        put = dynamo.put(
            settings.VAULT_AUDIT_TABLE, _to_ddb(record), "attribute_not_exists(#c)", {"#c": "chain"}
        )
        try:
            yield put
        except dynamo.TransactionCanceled as exc:
            # Nothing in the transaction was written. If our slot's condition
            # failed, an earlier attempt of ours may have filled it: end the chain.
            if exc.reason_for(put) == "ConditionalCheckFailed":
                _chain = None
            raise
        except BaseException:
            _chain = None
            raise
        _chain.seq += 1
        _chain.prev = record["mac"]


def record(
    action: str,
    outcome: str,
    actor: Actor,
    ctx: RequestContext,
    *,
    token_id: str = "",
    fields: Iterable[str] = (),
    detail: str = "",
    token_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """Append one record; raise AuditUnavailable if it could not be written."""
    built = entry(
        action, outcome, actor, ctx, token_id=token_id, fields=fields, detail=detail, token_ids=token_ids
    )
    try:
        with appending(built) as put:
            dynamo.put_item(put)
    except VaultError:
        raise AuditUnavailable(internal="audit put_item failed") from None
    return built


def record_or_log(
    action: str,
    outcome: str,
    actor: Actor,
    ctx: RequestContext,
    *,
    token_id: str = "",
    fields: Iterable[str] = (),
    detail: str = "",
) -> None:
    """Best effort, for failures and refusals: the answer goes out anyway, the outage is logged."""
    try:
        record(action, outcome, actor, ctx, token_id=token_id, fields=fields, detail=detail)
    except AuditUnavailable:
        log.error(
            "audit log unavailable while recording %s (%s, request %s)", action, outcome, ctx.request_id
        )


def _to_ddb(entry: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, bool):
            item[key] = {"BOOL": value}
        elif isinstance(value, int):
            item[key] = {"N": str(value)}
        elif isinstance(value, list):
            item[key] = {"L": [{"S": v} for v in value]}
        else:
            item[key] = {"S": str(value)}
    return item


def _from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        if "N" in value:
            out[key] = int(value["N"])
        elif "L" in value:
            out[key] = [v["S"] for v in value["L"]]
        elif "BOOL" in value:
            out[key] = value["BOOL"]
        else:
            out[key] = value.get("S", "")
    return out


def _read(items: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    try:
        for item in items:
            yield _from_ddb(item)
    except VaultError:
        raise AuditUnavailable("The audit log could not be read; retry later.") from None


def all_records() -> Iterator[dict[str, Any]]:
    return _read(dynamo.scan(settings.VAULT_AUDIT_TABLE))


def search(
    start: datetime,
    end: datetime,
    *,
    actor: str = "",
    action: str = "",
    token_id: str = "",
    outcome: str = "",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Records between start and end (newest first), filtered; by day via the GSI."""
    found: list[dict[str, Any]] = []
    # An id (user:3) matches only ids, a name only names: a name is never an id.
    actor_key = "actor_id" if is_actor_id(actor) else "actor"
    day = end.date()
    while day >= start.date() and len(found) < limit:
        for rec in _read(
            dynamo.query(
                settings.VAULT_AUDIT_TABLE,
                IndexName="by_day",
                KeyConditionExpression="#d = :d AND #a BETWEEN :s AND :e",
                ExpressionAttributeNames={"#d": "day", "#a": "at"},
                ExpressionAttributeValues={
                    ":d": {"S": day.isoformat()},
                    ":s": {"S": start.isoformat(timespec="microseconds")},
                    ":e": {"S": end.isoformat(timespec="microseconds")},
                },
                ScanIndexForward=False,
            )
        ):
            if actor and rec.get(actor_key) != actor:
                continue
            if action and rec.get("action") != action:
                continue
            if token_id and rec.get("token_id") != token_id and token_id not in rec.get("token_ids", ()):
                continue
            if outcome and rec.get("outcome") != outcome:
                continue
            found.append(rec)
            if len(found) >= limit:
                break
        day -= timedelta(days=1)
    return found


@dataclass(frozen=True)
class Verification:
    ok: bool
    records: int
    chains: int
    problem: str = ""  # the first broken link, in words


def chain_ids() -> list[str]:
    """Every chain's id: a scan of the partition key only, so memory grows with
    the number of chains (one per process lifetime), not of records."""
    items = dynamo.scan(
        settings.VAULT_AUDIT_TABLE, ProjectionExpression="#c", ExpressionAttributeNames={"#c": "chain"}
    )
    return sorted({str(item["chain"]) for item in _read(items)})


def chain_records(chain_id: str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """One chain's records in order from `from_seq`, a page at a time."""
    condition, values = "#c = :c", {":c": {"S": chain_id}}
    if from_seq:
        condition, values = "#c = :c AND #s >= :s", {**values, ":s": {"N": str(from_seq)}}
    return _read(
        dynamo.query(
            settings.VAULT_AUDIT_TABLE,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#c": "chain", **({"#s": "seq"} if from_seq else {})},
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
    )


Anchor = tuple[int, str]  # a chain's last verified record: its seq and its MAC


def verify(
    records: Iterable[dict[str, Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    resume: Mapping[str, Anchor] | None = None,
    on_chain: Callable[[str, Anchor], None] | None = None,
) -> Verification:
    """Check every chain: MACs, links and sequence numbers without gaps.

    From the table, chain by chain, holding one page and one chain's last MAC at
    a time; `progress(records, chains)` is told after each chain, `on_chain`
    each verified chain's last record. With `resume` (chain -> anchor, from a
    checkpoint tokens.audit_checkpoint has already checked), a chain is read
    from its anchor on: the anchor must still be there with the same MAC, so a
    chain deleted or cut back to or before it is caught; records before the
    anchor are trusted, not read.
    """
    resume = resume or {}
    if records is None:
        found = chain_ids()
        chains: Iterable[tuple[str, Iterable[dict[str, Any]]]] = (
            (c, chain_records(c, resume[c][0] if c in resume else 0))
            for c in sorted(set(found) | set(resume))
        )
    else:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            grouped.setdefault(str(rec.get("chain")), []).append(rec)
        chains = ((c, sorted(grouped[c], key=lambda r: r.get("seq", -1))) for c in sorted(grouped))
    count = done = 0
    for chain_id, chain in chains:
        done += 1
        start, anchor_mac = resume.get(chain_id, (0, ""))
        prev, last = GENESIS, -1
        for expected, rec in enumerate(chain, start):
            count += 1
            where = f"chain {chain_id} record {rec.get('seq')}"
            if rec.get("seq") != expected:
                return Verification(False, count, done, f"{where}: record {expected} is missing")
            made = mac(rec)
            if not made:
                return Verification(False, count, done, f"{where}: made with an unknown audit key")
            if not hmac.compare_digest(str(rec.get("mac", "")), made):
                return Verification(False, count, done, f"{where}: contents do not match its MAC")
            if anchor_mac and expected == start:
                if not hmac.compare_digest(str(rec["mac"]), anchor_mac):
                    return Verification(
                        False, count, done, f"{where}: is not the record the checkpoint holds"
                    )
            elif rec.get("prev") != prev:
                return Verification(False, count, done, f"{where}: does not link to record {expected - 1}")
            prev, last = rec["mac"], expected
        if last < start:  # nothing read: the chain is gone, or cut back before its anchor
            missing = f"chain {chain_id} record {start}"
            return Verification(False, count, done, f"{missing}: in the checkpoint, missing from the log")
        if on_chain is not None:
            on_chain(chain_id, (last, prev))
        if progress is not None:
            progress(count, done)
    return Verification(True, count, done)


def reset_writer() -> None:
    """Start a new chain (tests, and after fork)."""
    global _chain
    with _lock:
        _chain = None
