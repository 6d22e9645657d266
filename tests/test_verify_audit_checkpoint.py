"""verify_audit --checkpoint: a resumed run reads each chain from its signed
anchor on and reaches the verdict a full run reaches; a forged or edited
checkpoint is refused, never trusted."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import make_api
from tokens import audit, audit_checkpoint, aws


def write_chains(api: Any, chains: int, each: int) -> None:
    for n in range(chains):
        audit.reset_writer()  # a new process, a new chain
        for m in range(each):
            api.tokenize({"pan": f"{n}{m}"})


@pytest.fixture
def api(db: Any) -> Any:
    return make_api(["tokenize"], "svc")


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verdict(*args: str) -> str:
    try:
        return run(*args)[0].split(":")[0]
    except CommandError as exc:
        return str(exc)


def delete(settings: Any, chain: str, seq: int) -> None:
    aws.client("dynamodb").delete_item(
        TableName=settings.VAULT_AUDIT_TABLE, Key={"chain": {"S": chain}, "seq": {"N": str(seq)}}
    )


def edit(settings: Any, chain: str, seq: int, **changes: str) -> None:
    item = aws.client("dynamodb").get_item(
        TableName=settings.VAULT_AUDIT_TABLE, Key={"chain": {"S": chain}, "seq": {"N": str(seq)}}
    )["Item"]
    item.update({k: {"S": v} for k, v in changes.items()})
    aws.client("dynamodb").put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=item)


@pytest.fixture(params=["file", "dynamodb"])
def where(request: Any, tmp_path: Path) -> str:
    return str(tmp_path / "checkpoint.json") if request.param == "file" else "dynamodb"


def test_a_resumed_run_reads_only_what_is_new_and_reaches_the_same_verdict(api: Any, where: str) -> None:
    write_chains(api, 3, 4)
    first, _ = run("--checkpoint", where)
    assert first.startswith("audit log intact: 12 records in 3 chains")
    write_chains(api, 1, 2)  # a new chain after the checkpoint
    full, _ = run()
    resumed, err = run("--checkpoint", where)
    assert full.startswith("audit log intact: 14 records in 4 chains")
    # each old chain's anchor, and the new chain's two records
    assert resumed.startswith("audit log intact: 5 records read since the checkpoint in 4 chains")
    assert "resuming from the checkpoint" in err and "(3 chains)" in err


def test_a_resumed_run_catches_tampering_after_the_checkpoint(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 2, 3)
    run("--checkpoint", where)
    before = set(audit.chain_ids())
    write_chains(api, 1, 2)  # a chain written after the checkpoint
    (new_chain,) = set(audit.chain_ids()) - before
    edit(settings, new_chain, 1, reason="nothing to see")
    expected = f"audit log BROKEN: chain {new_chain} record 1: contents do not match its MAC"
    assert verdict("--checkpoint", where).startswith(expected)
    assert verdict().startswith(expected)  # as a full run says


def test_a_resumed_run_catches_a_record_appended_without_the_key(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 1, 2)
    run("--checkpoint", where)
    (chain,) = audit.chain_ids()
    last = next(audit.chain_records(chain, 1))
    forged = {**last, "seq": 2, "prev": last["mac"], "reason": "forged", "mac": "f" * 64}
    aws.client("dynamodb").put_item(TableName=settings.VAULT_AUDIT_TABLE, Item=audit._to_ddb(forged))
    expected = f"audit log BROKEN: chain {chain} record 2: contents do not match its MAC"
    assert verdict("--checkpoint", where).startswith(expected)


def test_a_resumed_run_catches_a_tail_cut_back_to_the_checkpoint(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 2, 3)
    run("--checkpoint", where)
    chain = audit.chain_ids()[1]
    delete(settings, chain, 2)  # the anchor: the chain now ends one record earlier, and links fine
    assert verdict().startswith("audit log intact")  # a full run alone cannot tell
    assert verdict("--checkpoint", where).startswith(
        f"audit log BROKEN: chain {chain} record 2: in the checkpoint, missing from the log"
    )


def test_a_resumed_run_catches_a_whole_chain_deleted(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 2, 2)
    run("--checkpoint", where)
    chain = audit.chain_ids()[0]
    for seq in (0, 1):
        delete(settings, chain, seq)
    assert verdict().startswith("audit log intact")
    assert verdict("--checkpoint", where).startswith(
        f"audit log BROKEN: chain {chain} record 1: in the checkpoint, missing from the log"
    )


def test_what_a_checkpoint_trusts_the_records_before_each_anchor(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 1, 3)
    run("--checkpoint", where)
    (chain,) = audit.chain_ids()
    edit(settings, chain, 0, reason="rewritten")  # before the anchor (record 2)
    assert verdict("--checkpoint", where).startswith("audit log intact")  # trusted, not read
    expected = f"audit log BROKEN: chain {chain} record 0: contents do not match its MAC"
    assert verdict("--checkpoint", where, "--restart").startswith(expected)
    assert verdict().startswith(expected)


def forge(where: str, change: Any) -> None:
    """Rewrite the stored checkpoint's document with `change` applied to it."""
    if where == "dynamodb":
        data = audit_checkpoint._load_dynamodb()
        assert data is not None
        document = json.loads(data)
        change(document)
        audit_checkpoint._save_dynamodb(json.dumps(document).encode())
    else:
        document = json.loads(Path(where).read_text())
        change(document)
        Path(where).write_text(json.dumps(document))


def test_an_edited_checkpoint_is_refused(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 1, 3)
    run("--checkpoint", where)
    (chain,) = audit.chain_ids()
    delete(settings, chain, 2)

    def cut_back(document: dict[str, Any]) -> None:
        payload = json.loads(document["payload"])
        payload["chains"][chain] = [1, audit.chain_records(chain).__next__()["mac"]]
        document["payload"] = json.dumps(payload)

    forge(where, cut_back)
    with pytest.raises(CommandError, match="checkpoint REFUSED: the checkpoint's signature does not match"):
        run("--checkpoint", where)


def test_a_checkpoint_signed_with_another_key_is_refused(api: Any, where: str, settings: Any) -> None:
    write_chains(api, 1, 2)
    run("--checkpoint", where)
    (chain,) = audit.chain_ids()

    def resign(document: dict[str, Any]) -> None:
        # A forger who knows the format but not the audit key.
        payload = json.dumps(
            {"table": settings.VAULT_AUDIT_TABLE, "at": "x", "chains": {chain: [5, "0" * 64]}}
        )
        document.update(payload=payload, mac=audit_checkpoint._sign(payload.encode(), "a guessed key"))

    forge(where, resign)
    with pytest.raises(CommandError, match="signature does not match"):
        run("--checkpoint", where)


def test_a_checkpoint_naming_an_unknown_key_is_refused(api: Any, where: str) -> None:
    write_chains(api, 1, 1)
    run("--checkpoint", where)
    forge(where, lambda document: document.update(key_id="99"))
    with pytest.raises(CommandError, match=r"an unknown audit key \(99\)"):
        run("--checkpoint", where)


def test_a_checkpoint_that_is_not_one_is_refused(tmp_path: Path, api: Any) -> None:
    where = tmp_path / "checkpoint.json"
    where.write_text('{"chains": {}}')
    with pytest.raises(CommandError, match="not a signed checkpoint"):
        run("--checkpoint", str(where))


def test_restart_replaces_a_refused_checkpoint(api: Any, where: str) -> None:
    write_chains(api, 1, 2)
    run("--checkpoint", where)
    forge(where, lambda document: document.update(mac="0" * 64))
    out, _ = run("--checkpoint", where, "--restart")
    assert out.startswith("audit log intact: 2 records in 1 chains")
    assert run("--checkpoint", where)[0].startswith("audit log intact: 1 records read since")


def test_a_large_checkpoint_is_kept_in_dynamodb_in_parts(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_checkpoint, "PART_BYTES", 64)
    write_chains(api, 3, 1)
    run("--checkpoint", "dynamodb")
    loaded = audit_checkpoint.load("dynamodb")
    assert loaded is not None and sorted(loaded.chains) == audit.chain_ids()
    assert run("--checkpoint", "dynamodb")[0].startswith("audit log intact: 3 records read since")


def test_a_run_cut_short_leaves_a_checkpoint_of_the_chains_it_verified(
    api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokens.management.commands import verify_audit

    write_chains(api, 3, 2)
    where = str(tmp_path / "checkpoint.json")
    monkeypatch.setattr(verify_audit, "CHECKPOINT_EVERY", 0.0)
    real = audit.chain_records
    calls = []

    def stop_at_the_third(chain: str, from_seq: int = 0) -> Any:
        calls.append(chain)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Lambda's timeout, say
        return real(chain, from_seq)

    monkeypatch.setattr(audit, "chain_records", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        run("--checkpoint", where)
    monkeypatch.setattr(audit, "chain_records", real)
    saved = audit_checkpoint.load(where)
    assert saved is not None and sorted(saved.chains) == audit.chain_ids()[:2]
    out, _ = run("--checkpoint", where)
    assert out.startswith("audit log intact: 4 records read since the checkpoint in 3 chains")
