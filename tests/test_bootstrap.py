from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tokens import aws
from tokens.bootstrap import bootstrap


def run() -> list[str]:
    out = StringIO()
    call_command("vault_bootstrap", stdout=out)
    return out.getvalue().splitlines()


def test_it_is_idempotent(db: Any) -> None:
    lines = run()
    assert f"table {settings.VAULT_TABLE}: found" in lines
    assert "KMS key alias/tokenizer: found" in lines
    assert run() == lines


def test_it_creates_the_tables_with_ttl_and_on_demand_billing(db: Any, settings: Any) -> None:
    settings.VAULT_TABLE, settings.VAULT_KMS_KEY = "fresh-data", "alias/fresh"
    lines = bootstrap(local=True)
    ddb = aws.client("dynamodb")
    table = ddb.describe_table(TableName="fresh-data")["Table"]
    ttl = ddb.describe_time_to_live(TableName="fresh-data")["TimeToLiveDescription"]
    backups = ddb.describe_continuous_backups(TableName="fresh-data")["ContinuousBackupsDescription"]
    assert "table fresh-data: created" in lines
    assert any(line.startswith("KMS key alias/fresh: created") for line in lines)
    assert table["KeySchema"] == [{"AttributeName": "tokenId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "TTL"}
    assert "table fresh-data: found" in bootstrap(local=True)
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_it_republishes_api_clients_to_the_mirror(db: Any) -> None:
    from tests.conftest import make_api

    api = make_api(["tokenize"], "svc")
    aws.client("dynamodb").delete_item(
        TableName=settings.VAULT_CLIENTS_TABLE, Key={"prefix": {"S": api.key.split("_")[1]}}
    )
    assert api.post("/api/v1/tokens", {"data": {"a": "b"}}).status_code == 401
    assert f"API clients: 1 published to {settings.VAULT_CLIENTS_TABLE}" in run()
    assert api.post("/api/v1/tokens", {"data": {"a": "b"}}).status_code == 201


def test_it_never_creates_a_key_on_aws(db: Any, settings: Any) -> None:
    settings.VAULT_KMS_KEY = "alias/missing"
    with pytest.raises(
        CommandError, match="KMS key alias/missing not found; create the multi-Region key first"
    ):
        call_command("vault_bootstrap", stdout=StringIO())
