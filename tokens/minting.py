"""A new token's writes: its sealed item and its index rows, built the same way
for every path that makes one (tokenize, batches, decoys), so no kind of token
can be told from another by its item or its rows."""

from __future__ import annotations

from typing import Any

from tokens import crypto, fieldtypes, fingerprints, index, storage
from tokens.fingerprints import Normalize


def rows(
    fields: dict[str, str], now: int, token_id: str, creator: str, normalize: Normalize = fieldtypes.normalize
) -> list[index.Row]:
    """Each field's fingerprint, the record's, and the token's row in the token list
    (`creator`: tokens.listing.creator_of). `normalize` is fieldtypes.shaped only for decoys."""
    version = fingerprints.newest_version()
    made = [
        index.Row.per_token(fingerprints.of_field(n, v, version, normalize), now, token_id)
        for n, v in fields.items()
    ]
    made.append(index.Row.per_token(fingerprints.of_record(fields, version, normalize), now, token_id))
    made.append(index.Row.listing(now, token_id, creator))
    return made


def sealed(
    token_id: str, now: int, expires_at: int, fields: dict[str, str], rows: list[index.Row]
) -> dict[str, Any]:
    """The item, encrypted and signed, naming its index rows."""
    return crypto.seal(
        {
            "tokenId": {"S": token_id},
            "createdAt": {"N": str(now)},
            "TTL": {"N": str(expires_at)},
            **{name: {"S": value} for name, value in fields.items()},
            **index.attribute(rows),
        }
    )


def writes(
    token_id: str, now: int, expires_at: int, fields: dict[str, str], rows: list[index.Row]
) -> list[dict[str, Any]]:
    """The transaction's writes for a new token: its item, then its rows."""
    return [
        storage.new(sealed(token_id, now, expires_at, fields, rows)),
        *index.puts(rows, token_id, expires_at, now, fields),
    ]
