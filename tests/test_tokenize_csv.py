"""manage.py tokenize_csv IN.csv OUT.csv: a migration's way in, through vault.tokenize_batch."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import MARKER, audit_records
from tokens import vault
from tokens.actors import Actor, RequestContext

READER = Actor(kind="lambda", id="test", name="test", permissions=frozenset({"detokenize"}))


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(text, encoding="utf-8")
    call_command("tokenize_csv", str(source), str(target))
    with target.open(newline="", encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


def test_each_row_becomes_a_token_of_its_fields(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expiry = int(time.time()) + 3600
    rows = run(tmp_path, f"pan,cvc,expiry\n{MARKER},123,{expiry}\n4222,456,\n", capsys)
    assert [r["row"] for r in rows] == ["2", "3"]
    first = vault.detokenize(READER, RequestContext(channel="cli"), rows[0]["tokenId"])
    assert first.data == {"pan": MARKER, "cvc": "123"} and first.expires_at == expiry
    assert vault.detokenize(READER, RequestContext(channel="cli"), rows[1]["tokenId"]).data["pan"] == "4222"
    out, err = capsys.readouterr()
    assert "2 rows tokenized, 0 refused" in out and "2/2 rows" in err
    assert MARKER not in (tmp_path / "out.csv").read_text() and MARKER not in out + err
    assert MARKER not in repr(audit_records())


def test_a_bad_row_gets_its_error_and_the_others_are_tokenized(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run(tmp_path, "pan,expiry\n4111,soon\n4222,\n,\n4333\n4444,1\n", capsys)
    assert [r["row"] for r in rows] == ["2", "3", "5", "6"]
    assert rows[0]["error"] == "invalid_request: row 2: expiry is Unix seconds or an ISO 8601 date/time"
    assert rows[1]["tokenId"].startswith("TKN-")
    assert rows[2]["error"] == "invalid_request: row 5: 1 cells for 2 columns"
    assert rows[3]["error"] == "invalid_request: data.TTL: TTL is in the past"


def test_more_than_a_batch_of_rows_is_tokenized_in_batches(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run(tmp_path, "n\n" + "".join(f"{i}\n" for i in range(250)), capsys)
    assert len({r["tokenId"] for r in rows}) == 250
    batches = [r for r in audit_records() if r["action"] == "tokenize" and r.get("token_ids")]
    # Each record writes its item and three index rows (its field's, its record's and its
    # token-list row): 24 records fill a transaction; the command sends 99 rows, 99 and 52.
    assert [len(r["token_ids"]) for r in batches] == [24, 24, 24, 24, 3] * 2 + [24, 24, 4]


def test_an_empty_file_is_refused(db: Any, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("")
    with pytest.raises(CommandError, match="the first row names the fields"):
        call_command("tokenize_csv", str(tmp_path / "in.csv"), str(tmp_path / "out.csv"))
