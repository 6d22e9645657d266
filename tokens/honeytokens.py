"""Honeytokens: decoy tokens that raise an alert the moment anyone uses one.

A decoy is an ordinary token: same id format, same item layout, sealed and
signed by the same code as tokenize, with index rows like any token's. Its
values are plausible but never valid real data (a card number failing the Luhn
check, an SSN whose area was never issued), so it can never stand for a real
person.

Which tokens are decoys is not written in the vault table. The decoy table
(VAULT_DECOY_TABLE, a global table) holds, under partition `decoy`, one row per
decoy whose sort key is an HMAC-SHA256 of its token id under a key derived from
AUDIT_HMAC_KEY (the value's id is kept beside it, so a rotation of the audit key
does not lose the set). Whoever reads the vault table, the decoy table, or both,
without the audit key, cannot tell a decoy from a token.

Every operation naming a decoy (vault._operation and the batches) answers
exactly as for any token, then writes an audit record with outcome
`honeytoken` and a row under partition `hit#<region>` in the same table, which
monitoring reads (check_anomalies alerts on it at once, the monitoring page
shows it). Decoy operations are left out of the metrics.

Cost on the request path: the set of HMACs is read once per process every
VAULT_DECOY_CACHE_SECONDS (one Query), then each check is one HMAC and a set
lookup, with no AWS call.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import random
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from tokens import audit, dynamo, fieldtypes, listing, minting, validation
from tokens.actors import Actor, RequestContext, is_actor_id
from tokens.errors import Conflict, InvalidInput, VaultError

log = logging.getLogger(__name__)

DECOYS = "decoy"  # partition of the decoy rows
HITS = "hit#"  # + region code: partition of the rows monitoring reads
OUTCOME = "honeytoken"
# A hit row is kept this long (the audit record stays for good).
HIT_RETENTION = 90 * 86400
# After a failed read of the decoy set, a process tries again after this long (not on every request).
RETRY_AFTER = 10.0
# Keeps the derived key apart from the audit MACs made with the same secret.
DERIVATION = b"token-vault honeytoken v1"
MAX_PLANT = 1000
DEFAULT_FIELDS = ("card_number", "cvc")

_lock = threading.Lock()
_marks: dict[str, frozenset[str]] = {}  # audit key id -> HMACs of decoy ids
_fresh_until = 0.0


@functools.lru_cache(maxsize=8)
def _derive(value: str) -> bytes:
    return hmac.new(value.encode(), DERIVATION, hashlib.sha256).digest()


def _derived(key_id: str) -> bytes | None:
    value = settings.VAULT_KEYRINGS.value("AUDIT_HMAC_KEY", key_id)
    return None if value is None else _derive(value)


def mark(token_id: str, key_id: str) -> str:
    """The decoy table's name for `token_id`: HMAC-SHA256 under the derived key (never the id)."""
    key = _derived(key_id)
    if key is None:
        raise VaultError(internal=f"audit key {key_id} unknown")
    return hmac.new(key, token_id.encode(), hashlib.sha256).hexdigest()


# --- the check, on every operation on a token ------------------------------------


def _load() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for row in dynamo.query(
        settings.VAULT_DECOY_TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": DECOYS}},
    ):
        found.setdefault(row.get("key_id", {}).get("S", ""), set()).add(row["sk"]["S"])
    return {key_id: frozenset(marks) for key_id, marks in found.items()}


def _current() -> dict[str, frozenset[str]]:
    global _marks, _fresh_until
    with _lock:
        if time.monotonic() < _fresh_until:
            return _marks
    try:
        loaded = _load()
        wait = float(settings.VAULT_DECOY_CACHE_SECONDS)
    except VaultError as exc:
        # Detection is best effort: a decoy table that does not answer never fails a request.
        log.error("honeytokens: the decoy set could not be read (%s)", exc.internal or exc.code)
        loaded, wait = _marks, RETRY_AFTER
    with _lock:
        _marks, _fresh_until = loaded, time.monotonic() + wait
        return _marks


def decoys_among(token_ids: Iterable[str]) -> list[str]:
    """Those of `token_ids` that are decoys (malformed and empty ids never are). Never raises."""
    wanted = [t for t in dict.fromkeys(token_ids) if t and validation.is_token_id(t)]
    if not wanted:
        return []
    try:
        marks = _current()
        return [
            t for t in wanted if any(mark(t, key_id) in known for key_id, known in marks.items() if known)
        ]
    except Exception:
        log.exception("honeytokens: check failed")
        return []


def is_decoy(token_id: str) -> bool:
    return bool(decoys_among([token_id]))


def forget() -> None:
    """Read the decoy set again at the next check (after planting, and in tests)."""
    global _marks, _fresh_until
    with _lock:
        _marks, _fresh_until = {}, 0.0


# --- a decoy was used ---------------------------------------------------------------


def caught(
    action: str, outcome: str, actor: Actor, ctx: RequestContext, token_ids: list[str], fields: Iterable[str]
) -> None:
    """Record the use of decoys: an audit record (`honeytoken`) and a hit row for monitoring.

    Best effort, as for refusals: the caller's answer is the one it would get
    for any token, whatever happens here; an outage is logged.
    """
    log.warning(
        "honeytoken: %s of %d decoy token(s) by %s %s (request %s)",
        action, len(token_ids), actor.kind, actor.id, ctx.request_id,
    )  # fmt: skip
    detail = f"decoy token used; the operation's outcome: {outcome}"
    try:
        audit.record(
            action, OUTCOME, actor, ctx,
            token_id=token_ids[0] if len(token_ids) == 1 else "",
            token_ids=token_ids if len(token_ids) > 1 else (), fields=fields, detail=detail,
        )  # fmt: skip
    except VaultError:
        log.error("audit log unavailable while recording a honeytoken (request %s)", ctx.request_id)
    now = datetime.now(UTC)
    row = {
        "pk": {"S": HITS + settings.VAULT_REGION_CODE},
        "sk": {"S": f"{now.isoformat(timespec='microseconds')}#{uuid.uuid4().hex[:8]}"},
        "action": {"S": action},
        "outcome": {"S": outcome},
        "actor_type": {"S": actor.kind},
        "actor_id": {"S": actor.id[: audit.MAX_TEXT]},
        "actor": {"S": actor.name[: audit.MAX_TEXT]},
        "channel": {"S": ctx.channel},
        "request_id": {"S": ctx.request_id[:128]},
        "source_ip": {"S": ctx.source_ip[:64]},
        "token_ids": {"L": [{"S": t} for t in token_ids]},
        "TTL": {"N": str(int(now.timestamp()) + HIT_RETENTION)},
    }
    try:
        dynamo.put_item(dynamo.put(settings.VAULT_DECOY_TABLE, row))
    except VaultError as exc:
        log.error("honeytoken hit not stored for monitoring (%s)", exc.internal or exc.code)


@dataclass(frozen=True)
class Hit:
    """One use of decoys, as monitoring reads it."""

    region: str
    key: str  # the row's sort key: when, and a random suffix
    at: datetime
    action: str
    outcome: str
    actor_type: str
    actor_id: str
    actor: str
    channel: str
    request_id: str
    source_ip: str = ""
    token_ids: list[str] = field(default_factory=list)
    alerted: bool = False

    @classmethod
    def of(cls, row: dict[str, Any]) -> Hit:
        def text(name: str) -> str:
            return str(row.get(name, {}).get("S", ""))

        return cls(
            region=text("pk").removeprefix(HITS),
            key=text("sk"),
            at=datetime.fromisoformat(text("sk").split("#", 1)[0]),
            action=text("action"),
            outcome=text("outcome"),
            actor_type=text("actor_type"),
            actor_id=text("actor_id"),
            actor=text("actor"),
            channel=text("channel"),
            request_id=text("request_id"),
            source_ip=text("source_ip"),
            token_ids=[v["S"] for v in row.get("token_ids", {}).get("L", [])],
            alerted="alerted_at" in row,
        )


def hits(region: str, since: datetime) -> list[Hit]:
    """Uses of decoys in `region` since `since`, newest first; Unavailable if DynamoDB does not answer."""
    rows = dynamo.query(
        settings.VAULT_DECOY_TABLE,
        KeyConditionExpression="pk = :pk AND sk >= :since",
        ExpressionAttributeValues={
            ":pk": {"S": HITS + region},
            ":since": {"S": since.isoformat(timespec="microseconds")},
        },
        ScanIndexForward=False,
        ConsistentRead=True,
    )
    return [Hit.of(row) for row in rows]


def claim_alert(hit: Hit, now: int) -> bool:
    """Take the right to alert about `hit`: True for exactly one caller, however many check at once."""
    try:
        dynamo.update_item(
            settings.VAULT_DECOY_TABLE,
            {"pk": {"S": HITS + hit.region}, "sk": {"S": hit.key}},
            "SET alerted_at = :now",
            condition="attribute_exists(pk) AND attribute_not_exists(alerted_at)",
            values={":now": {"N": str(now)}},
        )
    except Conflict:
        return False
    return True


def give_back(hit: Hit) -> None:
    """Undo claim_alert (the alert was not sent), so the next check tries again."""
    try:
        dynamo.update_item(
            settings.VAULT_DECOY_TABLE,
            {"pk": {"S": HITS + hit.region}, "sk": {"S": hit.key}},
            "REMOVE alerted_at",
        )
    except VaultError:
        pass  # this hit then stays unalerted-but-claimed; the audit record and the page still show it


# --- planting ---------------------------------------------------------------------

FIRST_NAMES = ("james", "maria", "wei", "olivia", "ahmed", "sofia", "liam", "priya", "noah", "chloe")
LAST_NAMES = ("smith", "nguyen", "garcia", "chen", "patel", "brown", "wilson", "kumar", "taylor", "lee")
_random = random.SystemRandom()


def _digits(n: int) -> str:
    return "".join(str(_random.randrange(10)) for _ in range(n))


def fake_card() -> str:
    """16 digits with a common network's prefix, whose last digit fails the Luhn check."""
    body = _random.choice(("4", "51", "52", "53", "54", "55"))
    body += _digits(15 - len(body))
    valid = next(d for d in "0123456789" if fieldtypes.luhn_ok(body + d))
    return body + _random.choice([d for d in "0123456789" if d != valid])


def fake_value(name: str) -> str:
    """A plausible value for field `name` that is never valid real data where its type can tell."""
    kind = fieldtypes.type_of(name).name
    if kind == "card":
        return fake_card()
    if kind == "cvc":
        return _digits(3)
    if kind == "us_ssn":  # area 9xx is never issued to a person
        return f"9{_digits(2)}-{_random.randint(10, 99)}-{_random.randint(1000, 9999)}"
    if kind == "date":
        return f"{_random.randint(1950, 2004)}-{_random.randint(1, 12):02d}-{_random.randint(1, 28):02d}"
    first, last = _random.choice(FIRST_NAMES), _random.choice(LAST_NAMES)
    if kind == "email":  # a reserved domain (RFC 2606): no mailbox behind it
        return f"{first}.{last}{_random.randint(1, 99)}@example.net"
    if "name" in name.lower():
        return f"{first.title()} {last.title()}"
    return secrets.token_hex(6).upper()


def field_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InvalidInput("Give at least one field name.")
    for name in names:
        validation.field_name(name, "fields")
    if len(set(names)) != len(names):
        raise InvalidInput("A field is named twice.")
    return names


def plant(
    actor: Actor, ctx: RequestContext, count: int, names: list[str], creator: str | None = None
) -> list[str]:
    """Make `count` decoys holding fake values of fields `names`; their ids."""
    return list(planting(actor, ctx, count, names, creator))


def planting(
    actor: Actor, ctx: RequestContext, count: int, names: list[str], creator: str | None = None
) -> Iterator[str]:
    """Make decoys one by one, yielding each id once it is written.

    `creator` is the actor id the token list (and the item's index attribute)
    names as the decoys' creator: by default whoever plants them; give the id
    of the API client whose tokens they stand among, so they blend in there too.

    One audit record first (`plant_honeytokens`, naming no token: the audit log
    must not list the decoys either), then per decoy one transaction: the
    sealed item, its index rows and its row in the decoy table, so a decoy is
    never without its row, nor a row without its decoy.
    """
    # Imported here: vault imports this module for its checks.
    from tokens.vault import new_token_id

    if not 1 <= count <= MAX_PLANT:
        raise InvalidInput(f"Plant 1 to {MAX_PLANT} decoys at a time.")
    if creator is None:
        creator = listing.creator_of(actor)
    elif not is_actor_id(creator):
        raise InvalidInput("Name the creator as an actor id, such as client:7 or user:3.")
    key_id, _ = settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")
    audit.record("plant_honeytokens", "success", actor, ctx, fields=names, detail=f"{count} decoys")
    try:
        for _ in range(count):
            now = int(time.time())
            expires_at = now + settings.VAULT_DEFAULT_RETENTION
            token_id = new_token_id()
            fields = {name: fake_value(name) for name in names}
            rows = minting.rows(fields, now, token_id, creator, fieldtypes.shaped)
            decoy = {"pk": {"S": DECOYS}, "sk": {"S": mark(token_id, key_id)}, "key_id": {"S": key_id}}
            dynamo.transact_write(
                [
                    *minting.writes(token_id, now, expires_at, fields, rows),
                    dynamo.put(settings.VAULT_DECOY_TABLE, decoy, "attribute_not_exists(pk)"),
                ]
            )
            yield token_id
    finally:
        forget()  # this process knows its new decoys at once
