"""The fingerprint table: rows that find tokens by value, by whole record or
by alias, without decrypting anything.

Every row carries its token's id and TTL, so DynamoDB expires it with the token:
- `f<v>:<mac>` / `<createdAt>#<tokenId>`: one field's value (search);
- `r<v>:<mac>` / `<createdAt>#<tokenId>`: a whole record (deduplication);
- `d<v>:<mac>` / `-`: the claim of a deduplicated record, written only if no
  live token holds it, so two requests at once in one region make one token;
- `a:<field>:<alias>` / `-`: an alias, written only if no live token holds it;
- `l:<day>:<shard>` / `<createdAt>#<tokenId>#<creator>`: the token list (one
  row per token, found newest first by creation day, and by creator through
  the `by_creator` index on `lc` = `l:<day>:<creator>:<shard>`).
A token's item lists its rows' keys in a signed plaintext attribute, so a
delete or a change of expiry changes them in the same transaction.
"""

from __future__ import annotations

import contextvars
import hashlib
import heapq
import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from tokens import dynamo

ATTRIBUTE = "*vault-index*"  # in the item (tokens/layout.py); never a valid field name
UNIQUE = "-"
SEPARATOR = "|"
# The token list: rows of one creation day are spread over this many partitions
# (by a hash of the token id), so thousands of tokenizes a second never meet in
# one partition; a read merges the day's shards. Never change it: rows already
# written stay in the shards they were given.
LISTING = "l:"
LIST_SHARDS = 8
BY_CREATOR = "by_creator"  # the global secondary index of listing rows by creator
CREATOR_PARTITION = "lc"  # its partition key, present on listing rows only (a sparse index)


@dataclass(frozen=True)
class Row:
    fp: str
    sk: str

    @classmethod
    def per_token(cls, fp: str, created_at: int, token_id: str) -> Row:
        return cls(fp, f"{created_at:012d}#{token_id}")

    @classmethod
    def unique(cls, fp: str) -> Row:
        return cls(fp, UNIQUE)

    @classmethod
    def alias(cls, field: str, alias: str) -> Row:
        return cls(f"a:{field}:{alias}", UNIQUE)

    @classmethod
    def listing(cls, created_at: int, token_id: str, creator: str) -> Row:
        """The token's row in the token list; `creator` is an actor id (never holds `#`)."""
        return cls(
            f"{LISTING}{day_of(created_at)}:{shard_of(token_id)}", f"{created_at:012d}#{token_id}#{creator}"
        )

    @property
    def is_listing(self) -> bool:
        return self.fp.startswith(LISTING)

    def key(self) -> dict[str, Any]:
        return {"fp": {"S": self.fp}, "sk": {"S": self.sk}}

    def encoded(self) -> str:
        return f"{self.fp}{SEPARATOR}{self.sk}"


def rows_of(item: dict[str, Any]) -> list[Row]:
    """The rows a (raw or opened) item names."""
    names = item.get(ATTRIBUTE, {}).get("SS", [])
    return [Row(*name.split(SEPARATOR, 1)) for name in names if SEPARATOR in name]


def attribute(rows: Iterable[Row]) -> dict[str, Any]:
    """The item attribute naming `rows` (empty when there are none)."""
    names = sorted(row.encoded() for row in rows)
    return {ATTRIBUTE: {"SS": names}} if names else {}


def puts(
    rows: Iterable[Row], token_id: str, expires_at: int, now: int, fields: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Transaction items writing `rows`; a unique row only where no live token holds it.

    A listing row also carries the token's field names (never a value) and its
    creator's partition of the `by_creator` index.
    """
    writes = []
    for row in rows:
        item = {**row.key(), "tokenId": {"S": token_id}, "TTL": {"N": str(expires_at)}}
        if row.is_listing:
            item[CREATOR_PARTITION] = {"S": _creator_partition(row)}
            names = sorted(set(fields))
            if names:
                item["fields"] = {"SS": names}
        if row.sk == UNIQUE:
            writes.append(
                dynamo.put(
                    settings.VAULT_INDEX_TABLE,
                    item,
                    "attribute_not_exists(fp) OR #ttl <= :now OR tokenId = :token",
                    {"#ttl": "TTL"},
                    {":now": {"N": str(now)}, ":token": {"S": token_id}},
                )  # fmt: skip
            )
        else:
            writes.append(dynamo.put(settings.VAULT_INDEX_TABLE, item))
    return writes


def removals(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [dynamo.delete(settings.VAULT_INDEX_TABLE, row.key()) for row in rows]


def holder(row: Row, now: int) -> str | None:
    """The live token holding a unique row (an alias, a claim), or None."""
    found = dynamo.get_item(settings.VAULT_INDEX_TABLE, row.key())
    if found is None or int(found["TTL"]["N"]) <= now:
        return None
    return str(found["tokenId"]["S"])


def newest(fps: Iterable[str], now: int, limit: int) -> list[tuple[str, int]]:
    """(token id, TTL) of live tokens with any of the fingerprints `fps`, newest first."""
    found: list[tuple[str, str, int]] = []
    for fp in fps:
        live = 0
        for row in dynamo.query(
            settings.VAULT_INDEX_TABLE,
            KeyConditionExpression="fp = :fp",
            ExpressionAttributeValues={":fp": {"S": fp}},
            ScanIndexForward=False,
            ConsistentRead=True,
        ):
            expires_at = int(row["TTL"]["N"])
            if row["sk"]["S"] != UNIQUE and expires_at > now:
                found.append((row["sk"]["S"], row["tokenId"]["S"], expires_at))
                live += 1
                if live >= limit:  # newest first: the rest are older
                    break
    found.sort(reverse=True)
    return [(token_id, expires_at) for _, token_id, expires_at in found[:limit]]


# --- the token list -------------------------------------------------------------


def day_of(seconds: int) -> str:
    """The UTC day of Unix `seconds`, as YYYY-MM-DD."""
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def shard_of(token_id: str) -> int:
    return int(hashlib.sha256(token_id.encode()).hexdigest()[:8], 16) % LIST_SHARDS


def _creator_partition(row: Row) -> str:
    day, shard = row.fp[len(LISTING) :].rsplit(":", 1)
    creator = row.sk.split("#", 2)[2]
    return f"{LISTING}{day}:{creator}:{shard}"


@dataclass(frozen=True)
class Listed:
    """A listing row as read: where it sorts (`sk`), and what it says."""

    sk: str
    token_id: str
    created_at: int
    expires_at: int
    fields: tuple[str, ...]
    creator: str


def _listed(item: dict[str, Any]) -> Listed:
    sk = item["sk"]["S"]
    created, token_id, creator = sk.split("#", 2)
    fields = tuple(sorted(item.get("fields", {}).get("SS", [])))
    return Listed(sk, token_id, int(created), int(item["TTL"]["N"]), fields, creator)


def listed(day: str, creator: str | None, before: str | None, page: int) -> Iterator[Listed]:
    """Listing rows of tokens created on `day` (by `creator`, if given), newest
    first, sorting before `before` if given: the day's shards, merged.

    Lazy: each shard is asked for `page` rows at a time, and only as the merge needs them.
    """

    def shard(number: int) -> Iterator[Listed]:
        extra: dict[str, Any]
        if creator is None:
            key, partition, extra = "fp", f"{LISTING}{day}:{number}", {"ConsistentRead": True}
        else:  # a global secondary index reads only eventually consistent
            key, partition = CREATOR_PARTITION, f"{LISTING}{day}:{creator}:{number}"
            extra = {"IndexName": BY_CREATOR}
        names = {"#p": key}
        values: dict[str, Any] = {":p": {"S": partition}}
        condition = "#p = :p"
        if before is not None:
            condition += " AND sk < :before"
            values = {**values, ":before": {"S": before}}
        rows = dynamo.query(
            settings.VAULT_INDEX_TABLE,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            PaginationConfig={"PageSize": page},
            **extra,
        )
        return (_listed(row) for row in rows)

    # The shards' first pages at once (a day costs one round trip, not eight);
    # later pages, rarely needed, as the merge asks for them.
    streams = [shard(n) for n in range(LIST_SHARDS)]
    started = [_shard_pool.submit(contextvars.copy_context().run, _first, stream) for stream in streams]
    heads = [future.result() for future in started]
    return heapq.merge(*heads, key=lambda row: row.sk, reverse=True)


_shard_pool = ThreadPoolExecutor(max_workers=LIST_SHARDS, thread_name_prefix="token-list")


def _first(rows: Iterator[Listed]) -> Iterator[Listed]:
    """`rows`, with its first page already read (so its errors are raised here)."""
    head = next(rows, None)
    return rows if head is None else itertools.chain([head], rows)
