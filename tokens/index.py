"""The fingerprint table: rows that find tokens by value, by whole record or
by alias, without decrypting anything.

Every row carries its token's id and TTL, so DynamoDB expires it with the token:
- `f<v>:<mac>` / `<createdAt>#<tokenId>`: one field's value (search);
- `r<v>:<mac>` / `<createdAt>#<tokenId>`: a whole record (deduplication);
- `d<v>:<mac>` / `-`: the claim of a deduplicated record, written only if no
  live token holds it, so two requests at once in one region make one token;
- `a:<field>:<alias>` / `-`: an alias, written only if no live token holds it.
A token's item lists its rows' keys in a signed plaintext attribute, so a
delete or a change of expiry changes them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tokens import dynamo

ATTRIBUTE = "*vault-index*"  # in the item (tokens/layout.py); never a valid field name
UNIQUE = "-"
SEPARATOR = "|"


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


def puts(rows: Iterable[Row], token_id: str, expires_at: int, now: int) -> list[dict[str, Any]]:
    """Transaction items writing `rows`; a unique row only where no live token holds it."""
    writes = []
    for row in rows:
        item = {**row.key(), "tokenId": {"S": token_id}, "TTL": {"N": str(expires_at)}}
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
