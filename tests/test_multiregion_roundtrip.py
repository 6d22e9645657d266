"""A token minted in Sydney detokenizes in Singapore (global table + the same
key in both regions), including while replication is still catching up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import MARKER
from tests.multiregion import SIN, SYD, replicate_items, replicate_key_material, use_region
from tokens import audit, aws, storage, vault
from tokens.actors import Actor, RequestContext
from tokens.bootstrap import bootstrap
from tokens.errors import NotFound

SERVICE = Actor(
    kind="lambda", id="lambda:test", name="test", permissions=frozenset({"tokenize", "detokenize"})
)
UNKNOWN = "TKN-{code}-00000000-0000-4000-8000-000000000000"


class Regions:
    def __init__(self, settings: Any, syd_key: str, sin_key: str) -> None:
        self.settings = settings
        self.keys = {SYD: syd_key, SIN: sin_key}

    def use(self, region: str) -> None:
        use_region(self.settings, region, self.keys[region])

    def replicate(self) -> None:
        # Items, and the key versions that sealed them (both global tables on AWS).
        replicate_items(self.settings.VAULT_TABLE, SYD, SIN)
        replicate_items(self.settings.VAULT_KEYS_TABLE, SYD, SIN)


@pytest.fixture
def regions(settings: Any) -> Iterator[Regions]:
    meta = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]
    sin_key = replicate_key_material(meta["KeyId"], SYD, SIN)
    both = Regions(settings, meta["Arn"], sin_key)
    both.use(SIN)
    bootstrap()  # Singapore's tables (on AWS: the global-table replicas)
    both.use(SYD)
    yield both


def ctx() -> RequestContext:
    return RequestContext(channel="lambda")


def test_a_token_minted_in_sydney_detokenizes_in_singapore(regions: Regions) -> None:
    info = vault.tokenize(SERVICE, ctx(), {"pan": MARKER, "name": "A N Other"})
    assert info.token_id.startswith("TKN-SYD-")
    regions.replicate()
    regions.use(SIN)
    revealed = vault.detokenize(SERVICE, ctx(), info.token_id)
    assert revealed.data == {"pan": MARKER, "name": "A N Other"}
    # Singapore wrote its own audit record, in its own region.
    assert [(r["action"], r["region"]) for r in audit.all_records()] == [("detokenize", "SIN")]


def test_a_token_minted_in_singapore_carries_its_region_and_detokenizes_there(regions: Regions) -> None:
    regions.use(SIN)
    info = vault.tokenize(SERVICE, ctx(), {"pan": MARKER})
    assert info.token_id.startswith("TKN-SIN-")
    assert vault.detokenize(SERVICE, ctx(), info.token_id).data == {"pan": MARKER}


def test_a_reader_waits_for_a_token_from_the_other_region_to_replicate(
    regions: Regions, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAULT_REPLICATION_WAIT = 5.0  # the sleeps below are not real
    token = vault.tokenize(SERVICE, ctx(), {"pan": MARKER}).token_id
    regions.use(SIN)
    sleeps: list[float] = []

    def replication_arrives(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the item lands while the reader waits
            regions.replicate()

    # Only the vault's own clock: time.sleep is also used by moto and botocore.
    monkeypatch.setattr(
        vault, "time", SimpleNamespace(time=time.time, monotonic=time.monotonic, sleep=replication_arrives)
    )
    assert vault.detokenize(SERVICE, ctx(), token).data == {"pan": MARKER}
    assert sleeps == [0.1, 0.2]


def test_a_token_from_the_other_region_that_never_arrives_is_not_found_after_a_bounded_wait(
    regions: Regions, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions.use(SIN)
    settings.VAULT_REPLICATION_WAIT = 0.5
    reads: list[str] = []
    real_get = storage.get
    monkeypatch.setattr(storage, "get", lambda token_id: reads.append(token_id) or real_get(token_id))
    storage.ping()  # build the client first, so the timing below is the vault's waiting
    started = time.monotonic()
    with pytest.raises(NotFound):
        vault.detokenize(SERVICE, ctx(), UNKNOWN.format(code="SYD"))
    elapsed = time.monotonic() - started
    # Reads at about 0, 0.1 and 0.3 s; another wait (0.4 s) would pass the 0.5 s bound.
    assert 2 <= len(reads) <= 3
    assert 0.3 <= elapsed < 0.5 + 0.25  # the bound, plus one read's worth of slack


def test_an_unknown_token_of_this_region_is_not_retried(
    regions: Regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions.use(SIN)
    reads: list[str] = []
    real_get = storage.get
    monkeypatch.setattr(storage, "get", lambda token_id: reads.append(token_id) or real_get(token_id))
    with pytest.raises(NotFound):
        vault.detokenize(SERVICE, ctx(), UNKNOWN.format(code="SIN"))
    assert len(reads) == 1
