"""The audit log's independent, write-once copy, and its comparison with the table.

infra/cfn/audit-copy.yaml streams every change of this region's audit replica
(Kinesis Data Streams for DynamoDB) through Kinesis Data Firehose to an S3
bucket with Object Lock in compliance mode. The copy's format, as Firehose
writes it there: objects under `audit/YYYY/MM/DD/`, each GZIP-compressed,
holding newline-delimited JSON (Firehose's AppendDelimiterToRecord), one line
per change, exactly as DynamoDB hands it to Kinesis:

    {"awsRegion": "ap-southeast-2", "eventID": "...", "eventName": "INSERT",
     "userIdentity": null, "recordFormat": "application/json",
     "tableName": "vault-audit", "eventSource": "aws:dynamodb",
     "dynamodb": {"ApproximateCreationDateTime": 1764409812345,
                  "Keys": {"chain": {"S": "SYD-..."}, "seq": {"N": "0"}},
                  "NewImage": {...the record, in DynamoDB's JSON...},
                  "SizeBytes": 612}}

(REMOVE has OldImage instead of NewImage, MODIFY both.) The reader also takes
JSON objects back to back without a delimiter, and objects that are not
compressed, so a copy made without those settings still reads.

The comparison holds one summary per chain (its highest seq in the copy and
that record's MAC), so memory grows with chains, not records; it reads the
whole copy each time.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import aws, dynamo
from tokens.audit import Anchor, _from_ddb
from tokens.errors import AuditUnavailable

EXAMPLES = 5  # problems of one kind named in full; the rest are counted


@dataclass
class Copy:
    chains: dict[str, Anchor] = field(default_factory=dict)  # chain -> highest seq, its MAC
    changes: int = 0
    removed: list[str] = field(default_factory=list)  # "chain C record S"
    modified: list[str] = field(default_factory=list)
    objects: int = 0


# --- reading the copy ----------------------------------------------------------------


def _objects(location: str) -> Iterator[bytes]:
    if location.startswith("s3://"):
        yield from _s3_objects(location)
        return
    root = Path(location)
    if not root.is_dir():
        raise AuditUnavailable(f"The audit copy {location} is not a directory.")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield path.read_bytes()


def _s3_objects(location: str) -> Iterator[bytes]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = aws.client("s3")
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise AuditUnavailable(
            f"The audit copy could not be read ({aws.error_code(exc) or 'no answer'})."
        ) from None


def _changes(data: bytes) -> Iterator[dict[str, Any]]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text, decoder, at = data.decode(), json.JSONDecoder(), 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return
        change, at = decoder.raw_decode(text, at)
        if isinstance(change, dict):
            yield change


def read(location: str) -> Copy:
    """A summary of the copy at `location` (s3://bucket/prefix, or a directory)."""
    copy = Copy()
    for data in _objects(location):
        copy.objects += 1
        for change in _changes(data):
            if change.get("tableName", settings.VAULT_AUDIT_TABLE) != settings.VAULT_AUDIT_TABLE:
                continue
            record = change.get("dynamodb", {})
            keys = _from_ddb(record.get("Keys", {}))
            chain, seq = str(keys.get("chain", "")), keys.get("seq")
            if not chain or not isinstance(seq, int):
                continue
            copy.changes += 1
            name = f"chain {chain} record {seq}"
            if change.get("eventName") == "REMOVE":
                copy.removed.append(name)
                continue
            if change.get("eventName") == "MODIFY":
                copy.modified.append(name)
            image = _from_ddb(record.get("NewImage", {}))
            if seq >= copy.chains.get(chain, (-1, ""))[0]:
                copy.chains[chain] = (seq, str(image.get("mac", "")))
    return copy


# --- comparing -------------------------------------------------------------------


def _at(chain: str, seq: int) -> str:
    items = dynamo.query(
        settings.VAULT_AUDIT_TABLE,
        KeyConditionExpression="#c = :c AND #s = :s",
        ExpressionAttributeNames={"#c": "chain", "#s": "seq"},
        ExpressionAttributeValues={":c": {"S": chain}, ":s": {"N": str(seq)}},
        ConsistentRead=True,
    )
    for item in items:
        return str(item.get("at", {}).get("S", ""))
    return ""


def _some(found: list[str], what: str) -> str:
    more = f" and {len(found) - EXAMPLES} more" if len(found) > EXAMPLES else ""
    return f"{what}: {', '.join(found[:EXAMPLES])}{more}"


@dataclass
class Comparison:
    problems: list[str]
    pending: int  # records newer than the lag allowance, not in the copy yet


def compare(
    copy: Copy, table: Mapping[str, Anchor], lag: timedelta, now: datetime | None = None
) -> Comparison:
    """What the copy shows that the table does not, and the reverse.

    `table` is each verified chain's last record (tokens.audit.verify's on_chain).
    A chain or a chain's tail in the copy but not in the table was deleted; a
    record in the table but not in the copy is a problem once it is older than
    `lag` (Firehose delivers within minutes), before that it is pending.
    """
    now = now or datetime.now(UTC)
    problems: list[str] = []
    gone = [c for c in sorted(copy.chains) if c not in table]
    if gone:
        problems.append(
            _some(
                [f"{c} ({copy.chains[c][0] + 1} records)" for c in gone], "chains in the copy, not in the log"
            )
        )
    cut, differ, behind = [], [], []
    pending = 0
    for chain, (last, last_mac) in sorted(table.items()):
        copied, copied_mac = copy.chains.get(chain, (-1, ""))
        if copied > last:
            cut.append(f"chain {chain} records {last + 1}-{copied}")
        elif copied == last and copied_mac != last_mac:
            differ.append(f"chain {chain} record {last}")
        elif copied < last:
            at = _at(chain, copied + 1)
            if at and datetime.fromisoformat(at) > now - lag:
                pending += last - copied
            else:
                behind.append(f"chain {chain} records {copied + 1}-{last} (from {at[:19]})")
    if cut:
        problems.append(_some(cut, "records in the copy, deleted from the log"))
    if differ:
        problems.append(_some(differ, "records that differ from the copy"))
    if copy.removed:
        problems.append(_some(copy.removed, "records the copy saw deleted"))
    if copy.modified:
        problems.append(_some(copy.modified, "records the copy saw changed"))
    if behind:
        problems.append(_some(behind, f"records older than {lag} in the log, not in the copy"))
    return Comparison(problems, pending)
