"""Each region's functions use the multi-Region key's ARN in their own region,
through the vault's own KMS client (moto cannot decrypt under `mrk-` keys, so
the selection is tested directly)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lambda_events import STAGES, stage_cli
from tests.multiregion import SIN, SYD, use_region
from tokens import aws, crypto, vault
from tokens.actors import Actor, RequestContext
from tokens.bootstrap import bootstrap

WRITER = Actor(kind="lambda", id="lambda:test", name="test", permissions=frozenset({"tokenize"}))


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_s_key_is_served_by_the_vault_s_client_in_that_region(stage: str, settings: Any) -> None:
    cli = stage_cli(stage)
    use_region(settings, cli.aws_region, cli.aws_environment_variables["VAULT_KMS_KEY"])
    materials = crypto._provider(settings.VAULT_KMS_KEY, settings.AWS_REGION, aws.client("kms"))
    client = materials._client(settings.VAULT_KMS_KEY)
    # Our client (bounded retries and timeouts), not one the SDK would build for another region.
    assert client is aws.client("kms")
    assert client.meta.region_name == cli.aws_region


def test_tokenizing_in_singapore_asks_singapore_s_kms_for_singapore_s_replica(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Per-item mode, so the call names the key (moto cannot decrypt under `mrk-` keys,
    # which loading a key-store version would need; tests/test_key_hierarchy.py covers that).
    # For the same reason the fingerprint key (a key-store version) is a local one here.
    from dynamodb_encryption_sdk.delegated_keys.jce import JceNameLocalDelegatedKey

    from tokens import fingerprints

    local = JceNameLocalDelegatedKey.generate("HmacSHA256", 256)
    monkeypatch.setattr(fingerprints, "signing_key", lambda version: local)
    settings.VAULT_KEY_MODE = "kms-per-item"
    syd = aws.client("kms", SYD)
    key = syd.create_key(MultiRegion=True, Description="vault")["KeyMetadata"]
    replica = syd.replicate_key(KeyId=key["KeyId"], ReplicaRegion=SIN)["ReplicaKeyMetadata"]
    assert replica["Arn"] == key["Arn"].replace(SYD, SIN)
    use_region(settings, SIN, replica["Arn"])
    bootstrap()
    calls: list[tuple[str, str, str]] = []

    def record(params: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        calls.append((context["client_region"], model.name, params.get("KeyId", "")))

    aws.client("kms").meta.events.register("provide-client-params.kms.*", record)
    info = vault.tokenize(WRITER, RequestContext(channel="lambda"), {"pan": "4111"})
    assert info.token_id.startswith("TKN-SIN-")
    assert calls == [(SIN, "GenerateDataKey", replica["Arn"])]
