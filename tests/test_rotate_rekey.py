"""`manage.py rotate_keys` adds a version of this region's material (audited);
`manage.py rekey` re-seals older items under it: resumable, bounded in rate,
conditional on the item being unchanged, and safe to stop at any point."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.conftest import MARKER, audit_where, raw_item
from tokens import audit, crypto, dynamo, key_rotation, keystore, storage, vault
from tokens.actors import Actor, RequestContext
from tokens.admin_ops import COMMAND_LINE
from tokens.errors import InvalidInput

SERVICE = Actor(
    kind="lambda",
    id="lambda:test",
    name="test",
    permissions=frozenset({"tokenize", "detokenize", "ttl"}),
)


def ctx() -> RequestContext:
    return RequestContext(channel="lambda")


def tokenize(value: str = MARKER, ttl: int | None = None) -> str:
    data: dict[str, Any] = {"pan": value, **({"TTL": ttl} if ttl else {})}
    return vault.tokenize(SERVICE, ctx(), data).token_id


def reveal(token: str) -> dict[str, str]:
    return vault.detokenize(SERVICE, ctx(), token).data


def sealed_with(token: str) -> str:
    return crypto.sealed_with(raw_item(token))


def rekey(**options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rekey", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --- rotation -------------------------------------------------------------------


def test_rotate_keys_adds_the_next_version_and_audits_it() -> None:
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert keystore.current_version() == 1
    assert out.getvalue() == "key material vault-SYD: version 1 added; processes seal with it within 300 s\n"
    (record,) = audit_where(action="rotate_keys")
    assert (record["outcome"], record["actor"], record["channel"]) == ("success", "(command line)", "cli")
    assert record["detail"] == "vault-SYD: version 0 -> 1"


def test_after_rotation_new_items_use_the_new_version_and_old_items_still_read(settings: Any) -> None:
    old = tokenize("old")
    call_command("rotate_keys", stdout=StringIO())
    # This process keeps sealing under the version it holds until its cache period ends.
    assert sealed_with(tokenize()) == "vault-SYD#0"
    with time_machine.travel(time.time() + settings.VAULT_KEY_CACHE_SECONDS + 1):
        new = tokenize("new")
        assert sealed_with(new) == "vault-SYD#1"
        assert (reveal(old), reveal(new)) == ({"pan": "old"}, {"pan": "new"})
    assert sealed_with(old) == "vault-SYD#0"


def test_rotate_keys_refuses_without_a_first_version(settings: Any) -> None:
    settings.VAULT_REGION_CODE = "SIN"  # no vault_bootstrap has made vault-SIN's version 0
    with pytest.raises(CommandError, match=r"vault-SIN has no version yet; run vault_bootstrap first"):
        call_command("rotate_keys")
    assert keystore.current_version() is None


# --- re-keying ------------------------------------------------------------------


def test_rekey_converts_older_and_per_item_kms_items_to_the_current_version(settings: Any) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    legacy = tokenize("legacy", ttl=int(time.time()) + 5000)
    settings.VAULT_KEY_MODE = "cached"
    older = tokenize("older")
    before = {token: raw_item(token) for token in (legacy, older)}
    call_command("rotate_keys", stdout=StringIO())

    out, _ = rekey()

    assert out.startswith("rekey done: scanned 2, rekeyed 2, current 0, expired 0,")
    for token, value in ((legacy, "legacy"), (older, "older")):
        after = raw_item(token)
        assert crypto.sealed_with(after) == "vault-SYD#1"
        assert reveal(token) == {"pan": value}
        for name in ("tokenId", "createdAt", "TTL"):
            assert after[name] == before[token][name]
    details = {r["token_id"]: r["detail"] for r in audit_where(action="rekey") if r["token_id"]}
    assert details == {legacy: "kms -> vault-SYD#1", older: "vault-SYD#0 -> vault-SYD#1"}
    (summary,) = [r for r in audit_where(action="rekey") if not r["token_id"]]
    assert summary["outcome"] == "success" and summary["detail"].startswith(
        "to vault-SYD#1: scanned 2, rekeyed 2"
    )


def test_a_second_rekey_finds_everything_current_and_writes_nothing() -> None:
    tokens = [tokenize() for _ in range(3)]
    call_command("rotate_keys", stdout=StringIO())
    rekey()
    signatures = {token: raw_item(token)["*amzn-ddb-map-sig*"] for token in tokens}
    out, _ = rekey()
    assert out.startswith("rekey done: scanned 3, rekeyed 0, current 3,")
    assert {token: raw_item(token)["*amzn-ddb-map-sig*"] for token in tokens} == signatures


def test_rekey_leaves_an_item_that_changed_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokenize()
    call_command("rotate_keys", stdout=StringIO())
    real_reseal = crypto.reseal
    later = int(time.time()) + 7200

    def changed_meanwhile(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
        sealed = real_reseal(item, table)
        vault.change_expiry(SERVICE, ctx(), token, later)  # another caller, between read and write
        return sealed

    monkeypatch.setattr(crypto, "reseal", changed_meanwhile)
    out, _ = rekey()
    assert "rekeyed 0" in out and "changed 1" in out
    assert int(raw_item(token)["TTL"]["N"]) == later  # the other caller's change stands
    assert vault.detokenize(SERVICE, ctx(), token).expires_at == later
    # The re-sealed item and its record were one transaction: neither landed.
    (failed,) = [r for r in audit_where(action="rekey") if r["token_id"] == token]
    assert (failed["outcome"], failed["detail"]) == ("error", "changed; vault-SYD#0 -> vault-SYD#1")


def test_a_rekey_stopped_midway_leaves_every_item_readable_and_a_rerun_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {tokenize(f"value-{n}"): f"value-{n}" for n in range(5)}
    call_command("rotate_keys", stdout=StringIO())
    real_write = dynamo.transact_write
    writes: list[Any] = []

    def interrupted(items: Any) -> None:
        if len(writes) == 2:
            raise KeyboardInterrupt
        writes.append(items)
        real_write(items)

    with monkeypatch.context() as patch:
        patch.setattr(dynamo, "transact_write", interrupted)
        with pytest.raises(CommandError, match=r"interrupted .* Every item is still readable; carry on with"):
            rekey()
    assert {token: reveal(token)["pan"] for token in values} == values
    assert sorted(sealed_with(token) for token in values) == ["vault-SYD#0"] * 3 + ["vault-SYD#1"] * 2

    out, _ = rekey()
    assert "rekeyed 3, current 2" in out
    assert {sealed_with(token) for token in values} == {"vault-SYD#1"}
    assert {token: reveal(token)["pan"] for token in values} == values
    assert audit.verify().ok


def test_rekey_can_start_after_a_given_token(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = sorted(tokenize() for _ in range(4))
    call_command("rotate_keys", stdout=StringIO())
    starts: list[Any] = []
    real_scan = storage.scan_page

    def recorded(start_after: Any = None, limit: int = 100) -> Any:
        starts.append(start_after)
        return real_scan(start_after, limit)

    monkeypatch.setattr(storage, "scan_page", recorded)
    rekey(start_after=tokens[0])
    assert starts[0] == {"tokenId": {"S": tokens[0]}}


def test_rekey_is_bounded_in_rate() -> None:
    for _ in range(6):
        tokenize()
    call_command("rotate_keys", stdout=StringIO())
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    summary = key_rotation.rekey(
        COMMAND_LINE, RequestContext(channel="cli"), rate=2.0, sleep=sleep, clock=lambda: now[0]
    )
    assert summary.rekeyed == 6
    assert now[0] == pytest.approx(3.0)  # six items at two a second


def test_rekey_leaves_expired_items_and_other_regions_tokens(settings: Any) -> None:
    expiring = tokenize(ttl=int(time.time()) + 60)
    settings.VAULT_REGION_CODE = "SIN"
    keystore.ensure_first_version()
    from_singapore = tokenize()
    settings.VAULT_REGION_CODE = "SYD"
    call_command("rotate_keys", stdout=StringIO())
    with time_machine.travel(time.time() + 120):
        out, _ = rekey()
    assert "expired 1, elsewhere 1" in out
    assert (sealed_with(expiring), sealed_with(from_singapore)) == ("vault-SYD#0", "vault-SIN#0")


def test_rekey_counts_an_item_that_fails_verification_and_leaves_it(settings: Any) -> None:
    token = tokenize()
    item = raw_item(token)
    item["pan"] = {"B": b"\x00" * len(item["pan"]["B"])}
    from tests.conftest import put_raw

    put_raw(item)
    call_command("rotate_keys", stdout=StringIO())
    out, _ = rekey()
    assert "failed 1" in out and "items that failed verification are in the audit log" in out
    assert raw_item(token) == item
    (record,) = [r for r in audit_where(action="rekey") if r["token_id"] == token]
    assert record["outcome"] == "integrity_failure"


def test_rekey_shows_progress_and_a_summary() -> None:
    for _ in range(3):
        tokenize()
    call_command("rotate_keys", stdout=StringIO())
    out, err = rekey()
    assert "] 3" in err and "scanned, 3 re-keyed" in err
    assert out.startswith("rekey done: scanned 3, rekeyed 3")


def test_rekey_refuses_in_kms_per_item_mode(settings: Any) -> None:
    settings.VAULT_KEY_MODE = "kms-per-item"
    with pytest.raises(InvalidInput, match="kms-per-item: there is no key version to re-key to"):
        key_rotation.rekey(COMMAND_LINE, RequestContext(channel="cli"), rate=10)
