"""Signed checkpoints of `verify_audit`: where each chain was last verified.

A checkpoint maps each chain to its anchor, the last record a run verified (seq
and MAC). The next run reads each chain from its anchor on and checks that the
anchor is still there with the same MAC (tokens.audit.verify), so it reads only
what is new plus one record per chain.

A checkpoint is signed with an HMAC under the audit key (AUDIT_HMAC_KEY, the
value whose id it names), over a label no audit record starts with, so it can
be made only by whoever can make audit records. One that was edited, forged,
made under an unknown key or for another table is refused (Refused), never used.

What a checkpoint trusts: the records of each chain *before* its anchor, as a
run verified them. Deleting a whole chain, cutting a chain back to or before its
anchor, or changing the anchor is caught by a resumed run; editing, deleting or
inserting a record strictly before an anchor is not (it can be caught by a run
with --restart, which reads everything, and deletions also by --against-copy).

Where it is kept: a file (a path), or `dynamodb`: items of this region's
VAULT_ALERT_STATE_TABLE (operator state of the region's own, which the operator
function may read and update), so a run in Lambda can resume the next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from tokens import dynamo
from tokens.audit import Anchor

LABEL = b"vault-audit-checkpoint:v1\n"  # domain separation from audit records' MACs
DYNAMODB = "dynamodb"
HEAD = "audit-checkpoint"
PART_BYTES = 300_000  # under DynamoDB's 400 KB item limit


class Refused(Exception):
    """A stored checkpoint that is not one a run of ours wrote, unchanged."""


@dataclass
class Checkpoint:
    chains: dict[str, Anchor] = field(default_factory=dict)
    at: str = ""


def _sign(payload: bytes, key: str) -> str:
    return hmac.new(key.encode(), LABEL + payload, hashlib.sha256).hexdigest()


def dumps(checkpoint: Checkpoint) -> bytes:
    """The checkpoint as a signed document (JSON bytes)."""
    key_id, key = settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")
    body = {
        "table": settings.VAULT_AUDIT_TABLE,
        "at": checkpoint.at or datetime.now(UTC).isoformat(timespec="seconds"),
        "chains": {c: list(anchor) for c, anchor in sorted(checkpoint.chains.items())},
    }
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"))
    document = {"key_id": key_id, "mac": _sign(payload.encode(), key), "payload": payload}
    return json.dumps(document, separators=(",", ":")).encode()


def loads(data: bytes) -> Checkpoint:
    """The checkpoint a signed document holds; Refused unless its signature holds."""
    try:
        document = json.loads(data)
        key_id, signature, payload = str(document["key_id"]), str(document["mac"]), str(document["payload"])
    except (ValueError, KeyError, TypeError):
        raise Refused("the checkpoint is not a signed checkpoint") from None
    key = settings.VAULT_KEYRINGS.value("AUDIT_HMAC_KEY", key_id)
    if key is None:
        raise Refused(f"the checkpoint names an unknown audit key ({key_id[:16]})")
    if not hmac.compare_digest(signature, _sign(payload.encode(), key)):
        raise Refused("the checkpoint's signature does not match its contents")
    body = json.loads(payload)
    if body.get("table") != settings.VAULT_AUDIT_TABLE:
        raise Refused("the checkpoint is of another audit table")
    chains = {str(c): (int(a[0]), str(a[1])) for c, a in body["chains"].items()}
    return Checkpoint(chains=chains, at=str(body["at"]))


# --- where it is kept ----------------------------------------------------------------


def load(where: str) -> Checkpoint | None:
    """The stored checkpoint, None if there is none yet; Refused if it is not ours."""
    data = _load_dynamodb() if where == DYNAMODB else _load_file(Path(where))
    return None if data is None else loads(data)


def save(where: str, checkpoint: Checkpoint) -> None:
    data = dumps(checkpoint)
    if where == DYNAMODB:
        _save_dynamodb(data)
    else:
        _save_file(Path(where), data)


def _load_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _save_file(path: Path, data: bytes) -> None:
    # Whole or not at all: a run cut off while writing leaves the last checkpoint.
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _key(name: str) -> dict[str, Any]:
    return {"key": {"S": name}}


def _load_dynamodb() -> bytes | None:
    head = dynamo.get_item(settings.VAULT_ALERT_STATE_TABLE, _key(HEAD))
    if head is None:
        return None
    try:
        generation, parts = int(head["generation"]["N"]), int(head["parts"]["N"])
    except (KeyError, ValueError):
        raise Refused("the checkpoint's head item is not one we wrote") from None
    chunks = []
    for n in range(parts):
        item = dynamo.get_item(settings.VAULT_ALERT_STATE_TABLE, _key(f"{HEAD}/{generation}/{n}"))
        if item is None or "data" not in item:
            raise Refused(f"part {n} of the checkpoint is missing")
        chunks.append(item["data"]["B"])
    try:
        return zlib.decompress(b"".join(chunks))
    except zlib.error:
        raise Refused("the checkpoint's parts do not fit together") from None


def _save_dynamodb(data: bytes) -> None:
    # Two generations: the parts go beside the ones the head names, then the head
    # moves to them, so a run cut off in between leaves the last checkpoint whole.
    head = dynamo.get_item(settings.VAULT_ALERT_STATE_TABLE, _key(HEAD))
    generation = 1 - int(head["generation"]["N"]) if head and "generation" in head else 0
    packed = zlib.compress(data, 6)
    chunks = [packed[i : i + PART_BYTES] for i in range(0, len(packed), PART_BYTES)] or [b""]
    for n, chunk in enumerate(chunks):
        dynamo.update_item(
            settings.VAULT_ALERT_STATE_TABLE,
            _key(f"{HEAD}/{generation}/{n}"),
            "SET #d = :d",
            {"#d": "data"},
            {":d": {"B": chunk}},
        )
    dynamo.update_item(
        settings.VAULT_ALERT_STATE_TABLE,
        _key(HEAD),
        "SET #g = :g, #p = :p",
        {"#g": "generation", "#p": "parts"},
        {":g": {"N": str(generation)}, ":p": {"N": str(len(chunks))}},
    )


def merged(old: Checkpoint | None, verified: Mapping[str, Anchor]) -> Checkpoint:
    """The old checkpoint's anchors with those a run moved on (a run cut short keeps the rest)."""
    chains = dict(old.chains) if old else {}
    chains.update(verified)
    return Checkpoint(chains=chains)
