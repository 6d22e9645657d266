"""Tokenize a CSV file: a header row of field names (plus an optional `expiry`
column), one record per row, through vault.tokenize_batch. Used by the command
`manage.py tokenize_csv` (migrations). The output names each row's token or
its error, never a value."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from tokens import vault
from tokens.actors import Actor, RequestContext
from tokens.errors import InvalidInput, VaultError, public

EXPIRY = "expiry"
OUTPUT_HEADER = ["row", "tokenId", "TTL", "error"]


def expiry_of(text: str, row: int) -> int:
    """An expiry cell: Unix seconds, or an ISO 8601 date or time (UTC unless it says)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"row {row}: expiry is Unix seconds or an ISO 8601 date/time") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def records(source: IO[str]) -> Iterator[tuple[int, dict[str, Any] | InvalidInput]]:
    """(row number, {"data": ...} or the row's problem) for each data row; rows count from 2."""
    reader = csv.reader(source)
    header = next(reader, None)
    if not header:
        raise InvalidInput("the file is empty: the first row names the fields")
    names = [name.strip() for name in header]
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            yield number, InvalidInput(f"row {number}: {len(cells)} cells for {len(names)} columns")
            continue
        data: dict[str, Any] = {}
        try:
            for name, cell in zip(names, cells, strict=True):
                if name == EXPIRY:
                    if cell.strip():
                        data["TTL"] = expiry_of(cell, number)
                elif cell != "":
                    data[name] = cell
        except InvalidInput as exc:
            yield number, exc
            continue
        yield number, {"data": data}


def _chunks(rows: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def tokenize(
    actor: Actor,
    ctx: RequestContext,
    source: IO[str],
    out: IO[str],
    progress: Callable[[int], None] = lambda done: None,
) -> tuple[int, int]:
    """Tokenize every row of `source` into `out` (row, tokenId, TTL, error); (tokenized, failed)."""
    writer = csv.writer(out)
    writer.writerow(OUTPUT_HEADER)
    done = failed = 0
    # vault.BATCH_CHUNK rows per call: one audit record each (a row's writes share a transaction).
    for chunk in _chunks(records(source), vault.BATCH_CHUNK):
        good = [(number, record) for number, record in chunk if not isinstance(record, VaultError)]
        results: dict[int, vault.BatchResult] = {
            number: record for number, record in chunk if isinstance(record, VaultError)
        }
        if good:
            answers = vault.tokenize_batch(actor, ctx, [record for _, record in good])
            results.update(zip([number for number, _ in good], answers, strict=True))
        for number, _ in chunk:
            result = results[number]
            if isinstance(result, vault.TokenInfo):
                writer.writerow([number, result.token_id, result.expires_at, ""])
            else:
                error = public(result) if isinstance(result, VaultError) else result
                writer.writerow([number, "", "", f"{getattr(error, 'code', 'error')}: {error}"])
                failed += 1
            done += 1
        progress(done)
    return done - failed, failed
