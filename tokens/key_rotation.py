"""Rotation and re-keying: the operator's two actions on the key hierarchy.

`rotate` adds a version of this region's material; processes seal with it once
their cached version expires (VAULT_KEY_CACHE_SECONDS), and items sealed under
older versions still read, since old versions are never removed.

`rekey` rewrites this region's tokens that were sealed under an older version,
or under per-item KMS, with the current version. Each item is verified and
sealed again, then written with its audit record in one transaction, only if
it is still exactly what was read; an item is replaced whole or not at all, so
stopping at any point leaves every item readable, and running again carries on
(current items are skipped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings

from tokens import audit, crypto, dynamo, keystore, storage, validation
from tokens.actors import Actor, RequestContext
from tokens.errors import Conflict, IntegrityFailure, InvalidInput

log = logging.getLogger(__name__)


def rotate(actor: Actor, ctx: RequestContext) -> int:
    """Add the next version of this region's material; its number."""
    name = keystore.material_name()
    current = keystore.current_version(name)
    if current is None:
        # Version 0 comes only from vault_bootstrap (see tokens.bootstrap.add_region).
        raise InvalidInput(f"{name} has no version yet; run vault_bootstrap first")
    detail = f"{name}: version {current} -> {current + 1}"
    audit.record("rotate_keys", "success", actor, ctx, detail=detail)
    try:
        return keystore.store().add_version(name, current + 1)
    except Exception as exc:
        _record("rotate_keys", "error", actor, ctx, detail=f"after audit: {detail}: {type(exc).__name__}")
        if isinstance(exc, keystore.VersionExists):
            raise Conflict("Another rotation added that version first; run rotate_keys again.") from None
        raise


@dataclass
class Summary:
    scanned: int = 0
    rekeyed: int = 0
    current: int = 0  # already under the current version
    expired: int = 0  # left for DynamoDB's TTL to delete
    elsewhere: int = 0  # minted in another region: that region re-keys them
    changed: int = 0  # changed while being re-keyed: run again
    failed: int = 0  # did not verify: left as they are
    resume_after: str = ""  # the last token id scanned, for --start-after

    def line(self) -> str:
        counts = ", ".join(
            f"{f.name} {getattr(self, f.name)}" for f in fields(self) if f.name != "resume_after"
        )
        return counts


Progress = Callable[[Summary], None]


def rekey(
    actor: Actor,
    ctx: RequestContext,
    *,
    rate: float,
    start_after: str = "",
    progress: Progress | None = None,
    summary: Summary | None = None,
    page_size: int = 100,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Summary:
    """Re-seal this region's older items under the current version, at most `rate` per second.

    Counts go into `summary` (a new one if not given), so a caller interrupted
    midway still knows where to resume.
    """
    if settings.VAULT_KEY_MODE != "cached":
        raise InvalidInput("VAULT_KEY_MODE is kms-per-item: there is no key version to re-key to")
    if rate <= 0:
        raise InvalidInput("rate: must be more than 0 items a second")
    crypto.reset()  # seal with the newest version, not one this process cached earlier
    name = keystore.material_name()
    target = keystore.current_version(name)
    if target is None:
        raise InvalidInput(f"{name} has no version yet; run vault_bootstrap first")
    summary = summary if summary is not None else Summary()
    summary.resume_after = start_after
    started = clock()
    prefix = f"TKN-{settings.VAULT_REGION_CODE}-"
    start_key = {"tokenId": {"S": start_after}} if start_after else None
    finished = False
    try:
        while True:
            items, start_key = storage.scan_page(start_key, page_size)
            for item in items:
                if not validation.is_token_id(item["tokenId"]["S"]):
                    continue  # not a token: /readyz's canary item
                _rekey_one(item, actor, ctx, summary, name, target, prefix)
                summary.scanned += 1
                summary.resume_after = item["tokenId"]["S"]
                wait = summary.rekeyed / rate - (clock() - started)
                if wait > 0:
                    sleep(wait)
            if progress is not None:
                progress(summary)
            if start_key is None:
                finished = True
                break
    finally:
        outcome = "success" if finished else "error"
        _record("rekey", outcome, actor, ctx, detail=f"to {name}#{target}: {summary.line()}"[:500])
    return summary


def _rekey_one(
    item: dict[str, Any],
    actor: Actor,
    ctx: RequestContext,
    summary: Summary,
    name: str,
    target: int,
    prefix: str,
) -> None:
    token_id = item["tokenId"]["S"]
    if not token_id.startswith(prefix):
        summary.elsewhere += 1
        return
    if int(item.get("TTL", {}).get("N", "0")) <= time.time():
        summary.expired += 1
        return
    names = sorted(set(item) - crypto.RESERVED)
    try:
        was = crypto.sealed_with(item)
        if _is_current(was, name, target):
            summary.current += 1
            return
        sealed = crypto.reseal(item)
    except IntegrityFailure as exc:
        summary.failed += 1
        _record("rekey", exc.outcome, actor, ctx, token_id=token_id, fields=names, detail=exc.internal)
        return
    detail = f"{was} -> {crypto.sealed_with(sealed)}"
    write = storage.replacement(sealed, item)
    try:
        # The new item and its record in one transaction, like every write of the vault.
        with audit.appending(
            audit.entry("rekey", "success", actor, ctx, token_id=token_id, fields=names, detail=detail)
        ) as record:
            dynamo.transact_write([write, record])
    except dynamo.TransactionCanceled as exc:
        if exc.reason_for(write) != "ConditionalCheckFailed":
            raise
        summary.changed += 1  # changed since it was read: left as the writer left it
        _record("rekey", "error", actor, ctx, token_id=token_id, fields=names, detail=f"changed; {detail}")
        return
    summary.rekeyed += 1


def _is_current(sealed_with: str, name: str, target: int) -> bool:
    if sealed_with == crypto.PER_ITEM_KMS:
        return False
    try:
        found, version = keystore.parse_meta_id(sealed_with)
    except ValueError:
        return False  # open_item will refuse it
    return found == name and version >= target


def _record(action: str, outcome: str, actor: Actor, ctx: RequestContext, **kwargs: Any) -> None:
    """A failure record, best effort: the failure itself is what the caller hears about."""
    audit.record_or_log(action, outcome, actor, ctx, **kwargs)
