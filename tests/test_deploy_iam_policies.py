"""The IAM policy documents under infra/iam/: each grants exactly its role's
actions on exactly its resources, and covers every AWS call the role makes."""

from __future__ import annotations

import json
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import make_api
from tests.role_urls import RoleUrls
from tokens import audit, aws, crypto
from tokens.models import ApiClient

IAM = Path(__file__).resolve().parent.parent / "infra" / "iam"
PLACEHOLDERS = {"REGION", "ACCOUNT_ID", "KEY_ID", "FUNCTION_NAME"}
# The operator also names its region's alarms, which carry the region code.
ROLE_PLACEHOLDERS = {
    "writer": PLACEHOLDERS,
    "reader": PLACEHOLDERS,
    "operator": PLACEHOLDERS | {"REGION_CODE"},
}


def render(
    role: str, region: str, account: str, key_id: str, function: str = "token-vault-fn"
) -> dict[str, Any]:
    text = (IAM / f"{role}.json").read_text()
    filled = string.Template(text).substitute(
        REGION=region, ACCOUNT_ID=account, KEY_ID=key_id, FUNCTION_NAME=function, REGION_CODE="SYD"
    )
    return dict(json.loads(filled))


def grants(policy: dict[str, Any]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        # Only the last-used update and the writer's key-store unwrap are narrowed
        # by a condition (checked below).
        keys = {"Sid", "Effect", "Action", "Resource"}
        conditioned = statement["Sid"] in ("ApiClientsLastUsed", "KeyStoreUnwrap")
        assert set(statement) == (keys | {"Condition"} if conditioned else keys)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        pairs |= {(a, r) for a in actions for r in resources}
    return pairs


R, A, K = "ap-southeast-2", "111122223333", "mrk-1234abcd12ab34cd56ef1234567890ab"
TABLE = f"arn:aws:dynamodb:{R}:{A}:table/sensitive-data"
AUDIT = f"arn:aws:dynamodb:{R}:{A}:table/vault-audit"
AUDIT_INDEX = f"{AUDIT}/index/by_day"
CLIENTS = f"arn:aws:dynamodb:{R}:{A}:table/vault-api-clients"
KEYS = f"arn:aws:dynamodb:{R}:{A}:table/vault-keys"
INDEX = f"arn:aws:dynamodb:{R}:{A}:table/vault-index"
KEY = f"arn:aws:kms:{R}:{A}:key/{K}"
ALARM = f"arn:aws:cloudwatch:{R}:{A}:alarm:token-vault-SYD-detokenize-{{}}-anomaly"
METRICS_READ = ("cloudwatch:GetMetricData", "*")
LOGS = f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/token-vault-fn"
EVERY_ROLE = {
    ("dynamodb:PutItem", AUDIT),
    ("dynamodb:GetItem", CLIENTS),
    ("dynamodb:UpdateItem", CLIENTS),
    ("dynamodb:DescribeTable", TABLE),
    ("kms:DescribeKey", KEY),
    *{
        (a, r)
        for a in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
        for r in (LOGS, LOGS + ":*")
    },
}
EXPECTED = {
    "writer": EVERY_ROLE
    | {
        ("dynamodb:PutItem", TABLE),
        ("kms:GenerateDataKey", KEY),
        ("dynamodb:GetItem", KEYS),
        ("dynamodb:Query", KEYS),
        ("kms:Decrypt", KEY),  # of key-store items only: see the test below
        ("dynamodb:PutItem", INDEX),  # fingerprints and aliases, in the item's transaction
        ("dynamodb:GetItem", INDEX),  # deduplication
        ("dynamodb:Query", INDEX),
    },
    "reader": EVERY_ROLE
    | {
        ("dynamodb:GetItem", TABLE),
        ("kms:Decrypt", KEY),
        ("dynamodb:GetItem", KEYS),
        ("dynamodb:Query", KEYS),  # the fingerprint key's newest version, for search
        ("dynamodb:GetItem", INDEX),  # an alias
        ("dynamodb:Query", INDEX),  # search
    },
    "operator": EVERY_ROLE
    | {
        ("dynamodb:GetItem", TABLE),
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:Scan", TABLE),
        ("dynamodb:GetItem", KEYS),
        ("dynamodb:Query", KEYS),
        ("dynamodb:PutItem", KEYS),
        ("dynamodb:PutItem", INDEX),
        ("dynamodb:GetItem", INDEX),
        ("dynamodb:Query", INDEX),
        ("dynamodb:DeleteItem", INDEX),
        ("kms:Decrypt", KEY),
        ("kms:GenerateDataKey", KEY),
        ("dynamodb:Query", AUDIT),
        ("dynamodb:Query", AUDIT_INDEX),
        ("dynamodb:Scan", AUDIT),
        ("dynamodb:Scan", AUDIT_INDEX),
        ("cloudwatch:DescribeAlarms", ALARM.format("success")),
        ("cloudwatch:DescribeAlarms", ALARM.format("failure")),
        ("sns:Publish", f"arn:aws:sns:{R}:{A}:token-vault-alerts"),
        METRICS_READ,
    },
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_a_policy_grants_exactly_its_actions_on_exactly_its_resources(role: str) -> None:
    assert grants(render(role, R, A, K)) == EXPECTED[role]


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_a_policy_has_no_wildcard_and_only_known_placeholders(role: str) -> None:
    text = (IAM / f"{role}.json").read_text()
    found = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)}
    assert found == ROLE_PLACEHOLDERS[role]
    for action, resource in grants(render(role, R, A, K)) - {METRICS_READ}:
        assert "*" not in action, action
        assert resource != "*" and not resource.endswith(":*") or resource == LOGS + ":*", resource


def test_the_only_star_resource_is_cloudwatch_get_metric_data_for_the_operator() -> None:
    # GetMetricData supports no resource-level permission or condition key: AWS
    # accepts only "*". It reads metric values (counts, latencies), never vault data.
    for role in ("writer", "reader", "operator"):
        stars = {pair for pair in grants(render(role, R, A, K)) if pair[1] == "*"}
        assert stars == ({METRICS_READ} if role == "operator" else set())


@pytest.mark.parametrize("role", ["writer", "reader"])
def test_request_path_roles_may_update_only_last_used_on_api_clients(role: str) -> None:
    policy = json.loads((IAM / f"{role}.json").read_text())
    updates = [s for s in policy["Statement"] if "dynamodb:UpdateItem" in s["Action"]]
    assert [s["Sid"] for s in updates] == ["ApiClientsLastUsed"]
    assert updates[0]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["prefix", "last_used"]},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE"]},
    }


def test_only_the_operator_may_publish_api_clients() -> None:
    policy = json.loads((IAM / "operator.json").read_text())
    publish = [s for s in policy["Statement"] if s["Sid"] == "ApiClientsPublish"]
    assert publish[0]["Action"] == ["dynamodb:UpdateItem"] and "Condition" not in publish[0]


def test_a_writer_cannot_read_and_a_reader_cannot_write() -> None:
    writer, reader = grants(render("writer", R, A, K)), grants(render("reader", R, A, K))
    assert ("dynamodb:GetItem", TABLE) not in writer
    assert ("dynamodb:PutItem", TABLE) not in reader and ("kms:GenerateDataKey", KEY) not in reader
    assert not {pair for pair in reader if pair[1] == KEYS} - {
        ("dynamodb:GetItem", KEYS),
        ("dynamodb:Query", KEYS),
    }


def test_a_writer_may_decrypt_only_key_store_items() -> None:
    policy = json.loads((IAM / "writer.json").read_text())
    decrypts = [s for s in policy["Statement"] if "kms:Decrypt" in s["Action"]]
    assert [s["Sid"] for s in decrypts] == ["KeyStoreUnwrap"]
    # The SDK puts the table's name in the KMS encryption context of what it encrypts.
    assert decrypts[0]["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:*aws-kms-table*": "vault-keys"}
    }


def test_the_roles_trust_only_lambda() -> None:
    trust = json.loads((IAM / "trust.json").read_text())
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_each_stage_uses_the_role_of_its_function_role() -> None:
    from tests.lambda_events import STAGES, stage_cli

    for stage in STAGES:
        cli = stage_cli(stage)
        region_short, role = stage.split("_")
        assert cli.stage_config["manage_roles"] is False
        assert cli.stage_config["role_name"] == f"token-vault-{region_short}-{role}"
        assert cli.zappa.credentials_arn == f"arn:aws:iam::{A}:role/token-vault-{region_short}-{role}"


# --- every AWS call a role makes, recorded under moto, is granted -------------


class Recorder:
    """(IAM action, resource ARN) of every DynamoDB and KMS call the vault's clients make."""

    def __init__(self, key_arn: str) -> None:
        self.key_arn = key_arn
        self.calls: set[tuple[str, str]] = set()
        # The table named in the KMS encryption context of each Decrypt.
        self.decrypted_for: set[str] = set()

    def __call__(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        service = model.service_model.service_name
        region = kwargs["context"]["client_region"]
        if model.name == "TransactWriteItems":
            # IAM authorises a transaction by the action of each of its items, on its table.
            for item in params["TransactItems"]:
                [(kind, request)] = item.items()
                action = "ConditionCheckItem" if kind == "ConditionCheck" else f"{kind}Item"
                table = f"arn:aws:dynamodb:{region}:123456789012:table/{request['TableName']}"
                self.calls.add((f"dynamodb:{action}", table))
            return
        if service == "dynamodb":
            resource = f"arn:aws:dynamodb:{region}:123456789012:table/{params['TableName']}"
            if params.get("IndexName"):
                resource += f"/index/{params['IndexName']}"
        else:
            # Decrypt names no key: KMS takes it from the ciphertext, which our one key made.
            resource = self.key_arn
            if model.name == "Decrypt":
                self.decrypted_for.add(params.get("EncryptionContext", {}).get("*aws-kms-table*", ""))
        self.calls.add((f"{service}:{model.name}", resource))


@pytest.fixture
def recorder(settings: Any) -> Iterator[Recorder]:
    key_arn = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]["Arn"]
    rec = Recorder(key_arn)
    # The key store's table resource has a client of its own.
    key_store = aws.table_resource(settings.VAULT_KEYS_TABLE).meta.client
    clients = [aws.client("dynamodb"), aws.client("kms"), key_store]
    for client in clients:
        client.meta.events.register("provide-client-params.*.*", rec)
    yield rec
    for client in clients:
        client.meta.events.unregister("provide-client-params.*.*", rec)


def granted_here(role: str, key_arn: str) -> set[tuple[str, str]]:
    key_id = key_arn.rsplit("/", 1)[1]
    return grants(render(role, R, "123456789012", key_id))


def as_role(settings: Any, role: str) -> None:
    settings.VAULT_FUNCTION_ROLE = role
    settings.ROOT_URLCONF = RoleUrls(role)


@pytest.mark.parametrize(
    ("mode", "kms_call"), [("cached", "kms:Decrypt"), ("kms-per-item", "kms:GenerateDataKey")]
)
def test_every_call_the_writer_makes_is_granted(
    db: Any, settings: Any, recorder: Recorder, mode: str, kms_call: str
) -> None:
    settings.VAULT_KEY_MODE = mode
    api = make_api(["tokenize"], "w")
    recorder.calls.clear()
    as_role(settings, "writer")
    assert api.post("/api/v1/tokens", {"data": {"pan": "4111"}}).status_code == 201
    assert api.client.get("/readyz").status_code == 200
    assert (kms_call, recorder.key_arn) in recorder.calls
    # Its one Decrypt grant holds for key-store items only.
    assert recorder.decrypted_for <= {"vault-keys"}
    assert recorder.calls <= granted_here("writer", recorder.key_arn), recorder.calls - granted_here(
        "writer", recorder.key_arn
    )


def test_every_call_the_reader_makes_is_granted(db: Any, settings: Any, recorder: Recorder) -> None:
    token = make_api(["tokenize"], "w").tokenize({"pan": "4111"})
    api = make_api(["detokenize", "metadata"], "r")
    crypto.reset()  # the reader is another process: it loads the key version itself
    recorder.calls.clear()
    as_role(settings, "reader")
    assert api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert api.get(f"/api/v1/tokens/{token}").status_code == 200
    assert api.get("/api/v1/tokens/TKN-SIN-00000000-0000-4000-8000-000000000000").status_code == 404
    assert api.client.get("/readyz").status_code == 200
    assert ("kms:Decrypt", recorder.key_arn) in recorder.calls
    assert ("dynamodb:GetItem", KEYS.replace(A, "123456789012")) in recorder.calls
    assert recorder.calls <= granted_here("reader", recorder.key_arn), recorder.calls - granted_here(
        "reader", recorder.key_arn
    )


def test_every_call_the_operator_makes_is_granted(db: Any, settings: Any, recorder: Recorder) -> None:
    as_role(settings, "operator")
    api = make_api(["tokenize", "detokenize", "metadata", "ttl", "delete"], "o")
    token = api.tokenize({"pan": "4111"})
    assert api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200
    assert api.get(f"/api/v1/tokens/{token}").status_code == 200
    assert api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 7200}).status_code == 200
    assert api.delete(f"/api/v1/tokens/{token}").status_code == 204
    api.tokenize({"pan": "4111"})
    call_command("rotate_keys", stdout=StringIO())  # `zappa manage <stage>_operator rotate_keys`
    call_command("rekey", stdout=StringIO(), stderr=StringIO())
    now = datetime.now(UTC)
    assert audit.search(now - timedelta(days=1), now + timedelta(minutes=1))
    assert audit.verify().records > 0
    client = ApiClient.objects.get(name="o")
    assert client.last_used is not None
    client.active = False
    client.save()
    assert api.client.get("/readyz").status_code == 200
    assert ("dynamodb:Query", AUDIT_INDEX.replace(A, "123456789012")) in recorder.calls
    here = "123456789012"
    assert {
        ("dynamodb:PutItem", KEYS.replace(A, here)),
        ("dynamodb:Scan", TABLE.replace(A, here)),
    } <= recorder.calls
    assert recorder.calls <= granted_here("operator", recorder.key_arn), recorder.calls - granted_here(
        "operator", recorder.key_arn
    )
