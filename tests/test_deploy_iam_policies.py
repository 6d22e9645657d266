"""The IAM policy documents under infra/iam/: each grants exactly its role's
actions on exactly its resources, and covers every AWS call the role makes."""

from __future__ import annotations

import json
import string
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from monitoring import aws as monitoring_aws
from tests import iam_recorder
from tests.conftest import fresh_client, make_api
from tests.lambda_events import apigw_v1, load_stage, response_json
from tokens import aws, crypto
from tokens.models import ApiClient
from vaultsite.lambda_handler import MANAGE_COMMANDS, lambda_handler

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
IDEMPOTENCY = f"arn:aws:dynamodb:{R}:{A}:table/vault-idempotency"
IDEMPOTENCY_KEYS = {(a, IDEMPOTENCY) for a in ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem")}
KEYS = f"arn:aws:dynamodb:{R}:{A}:table/vault-keys"
INDEX = f"arn:aws:dynamodb:{R}:{A}:table/vault-index"
LIST_BY_CREATOR = f"{INDEX}/index/by_creator"
ALERT_STATE = f"arn:aws:dynamodb:{R}:{A}:table/vault-alert-state"
DECOYS = f"arn:aws:dynamodb:{R}:{A}:table/vault-decoys"
AUDIT_COPY = f"arn:aws:s3:::token-vault-audit-copy-{A}-{R}"
AUDIT_COPY_OBJECTS = AUDIT_COPY + "/audit/*"  # Firehose names the objects: only a pattern can grant them
KEY = f"arn:aws:kms:{R}:{A}:key/{K}"
ALARM = f"arn:aws:cloudwatch:{R}:{A}:alarm:token-vault-SYD-{{}}-anomaly"
METRICS_READ = ("cloudwatch:GetMetricData", "*")
DETECTORS_WRITE = ("cloudwatch:PutAnomalyDetector", "*")
CALLERS_LIST = ("cloudwatch:ListMetrics", "*")  # the per-caller check finds active callers
# None supports a resource-level permission or condition key: AWS accepts only "*".
STARS = {METRICS_READ, DETECTORS_WRITE, CALLERS_LIST}
LOGS = f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/token-vault-fn"
SECRET = f"arn:aws:secretsmanager:{R}:{A}:secret:token-vault/{{}}-??????"
EVERY_ROLE = {
    *{
        ("secretsmanager:GetSecretValue", SECRET.format(n))
        for n in ("secret-key", "api-key-pepper", "audit-hmac-key")
    },
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
    | IDEMPOTENCY_KEYS
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
        ("dynamodb:BatchGetItem", TABLE),
        ("dynamodb:Query", DECOYS),  # the set of decoy HMACs, once per process and cache period
        ("dynamodb:PutItem", DECOYS),  # a row per use of a decoy, for monitoring
    },
    "operator": EVERY_ROLE
    | IDEMPOTENCY_KEYS
    | {
        ("dynamodb:GetItem", TABLE),
        ("dynamodb:BatchGetItem", TABLE),
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
        ("dynamodb:Query", LIST_BY_CREATOR),  # the token list, by creator
        ("kms:Decrypt", KEY),
        ("kms:GenerateDataKey", KEY),
        ("dynamodb:Query", AUDIT),
        ("dynamodb:Query", AUDIT_INDEX),
        ("dynamodb:Scan", AUDIT),
        ("dynamodb:Scan", AUDIT_INDEX),
        ("cloudwatch:DescribeAlarms", ALARM.format("detokenize-success")),
        ("cloudwatch:DescribeAlarms", ALARM.format("detokenize-failure")),
        ("cloudwatch:DescribeAlarms", ALARM.format("search")),
        ("sns:Publish", f"arn:aws:sns:{R}:{A}:token-vault-alerts"),
        METRICS_READ,
        CALLERS_LIST,
        # vault_bootstrap on the function checks the tables the stacks made
        *{
            (a, t)
            for a in (
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:DescribeContinuousBackups",
            )
            for t in (TABLE, AUDIT, CLIENTS, ALERT_STATE, KEYS, INDEX, IDEMPOTENCY, DECOYS)
        },
        ("dynamodb:Query", DECOYS),
        ("dynamodb:PutItem", DECOYS),  # a use of a decoy; planting
        ("dynamodb:UpdateItem", DECOYS),  # check_anomalies claims a use before alerting on it
        ("dynamodb:GetItem", ALERT_STATE),
        ("dynamodb:UpdateItem", ALERT_STATE),
        ("secretsmanager:GetSecretValue", SECRET.format("database")),
        # setup_monitoring
        ("sns:CreateTopic", f"arn:aws:sns:{R}:{A}:token-vault-alerts"),
        ("cloudwatch:PutMetricAlarm", ALARM.format("detokenize-success")),
        ("cloudwatch:PutMetricAlarm", ALARM.format("detokenize-failure")),
        ("cloudwatch:PutMetricAlarm", ALARM.format("search")),
        DETECTORS_WRITE,
        # verify_audit --against-copy reads this region's write-once copy, and nothing else in S3
        ("s3:ListBucket", AUDIT_COPY),
        ("s3:GetObject", AUDIT_COPY_OBJECTS),
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
    for action, resource in grants(render(role, R, A, K)) - STARS:
        assert "*" not in action, action
        # A secret's ARN ends in six random characters: IAM's documented pattern is "-??????".
        resource = resource.removesuffix("-??????") if action.startswith("secretsmanager:") else resource
        assert "*" not in resource and "?" not in resource or resource in (LOGS + ":*", AUDIT_COPY_OBJECTS)


def test_the_only_star_resources_are_the_operators_metric_reads_and_anomaly_detectors() -> None:
    # GetMetricData reads metric values (counts, latencies), never vault data;
    # PutAnomalyDetector only models a metric's band.
    for role in ("writer", "reader", "operator"):
        stars = {pair for pair in grants(render(role, R, A, K)) if pair[1] == "*"}
        assert stars == (STARS if role == "operator" else set())


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


# --- every path of every role, recorded under moto, is granted ------------------
# Each role's paths run as Lambda runs them (Zappa's handler and our entry, the
# stage's settings); tests/iam_recorder.py records every AWS call any client
# makes and the role's own policy must allow each one, conditions included.


@pytest.fixture
def kms_keys(settings: Any) -> dict[str, str]:
    arn = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]["Arn"]
    return {"default": arn, settings.VAULT_KMS_KEY: arn, arn.rsplit("/", 1)[1]: arn}


def policy_of(role: str, kms_keys: dict[str, str]) -> dict[str, Any]:
    return iam_recorder.render(role, R, key_id=kms_keys["default"].rsplit("/", 1)[1])


def assert_granted(role: str, recorder: iam_recorder.Recorder, kms_keys: dict[str, str]) -> None:
    assert recorder.calls, "the paths made no AWS call at all"
    denied = iam_recorder.denied(policy_of(role, kms_keys), recorder.calls)
    assert not denied, "not granted to the " + role + ":\n" + "\n".join(denied)


SCHEDULE = "arn:aws:events:ap-southeast-2:111122223333:rule/token-vault-syd-{}-"
KEEP_WARM = {
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "resources": [SCHEDULE.format("writer") + "zappa-keep-warm-handler.keep_warm_callback"],
}
CHECK_ANOMALIES = {
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "resources": [SCHEDULE.format("operator") + "monitoring.scheduled.check_anomalies"],
}


def http(stage: Any, method: str, path: str, body: Any = None, key: str | None = None) -> dict[str, Any]:
    return dict(lambda_handler(apigw_v1(stage.stage, method, path, body, key), stage.context()))


@pytest.mark.parametrize(
    ("mode", "kms_call"), [("cached", "kms:Decrypt"), ("kms-per-item", "kms:GenerateDataKey")]
)
def test_every_path_of_the_writer_is_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str], mode: str, kms_call: str
) -> None:
    settings.VAULT_KEY_MODE = mode
    crypto.reset()
    key = make_api(["tokenize"], "w").key
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_writer", tmp_path, settings) as fn:
        assert http(fn, "POST", "/api/v1/tokens", {"data": {"pan": "4111"}}, key)["statusCode"] == 201
        assert http(fn, "POST", "/api/v1/tokens", {"data": {}}, key)["statusCode"] == 400
        assert (
            http(fn, "POST", "/api/v1/tokens", {"data": {"pan": "1"}}, "tvk_000000000000_" + "x" * 43)[
                "statusCode"
            ]
            == 401
        )
        assert http(fn, "GET", "/readyz")["statusCode"] == 200
        assert http(fn, "GET", "/healthz")["statusCode"] == 200
        assert lambda_handler(KEEP_WARM, fn.context()) is None
        assert "tokenId" in lambda_handler({"data": {"pan": "4111"}}, fn.context())
        assert "error" in lambda_handler({"tokenId": "TKN-SYD-x"}, fn.context())  # not a writer's
    assert any(c.action == kms_call and c.resource == kms_keys["default"] for c in recorder.calls)
    assert_granted("writer", recorder, kms_keys)


def test_every_path_of_the_reader_is_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    token = make_api(["tokenize"], "w").tokenize({"pan": "4111"})
    key = make_api(["detokenize", "metadata"], "r").key
    settings.VAULT_REPLICATION_WAIT = 0.05
    crypto.reset()  # the reader is another process: it loads the key version itself
    elsewhere = "TKN-SIN-00000000-0000-4000-8000-000000000000"
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_reader", tmp_path, settings) as fn:
        assert http(fn, "POST", "/api/v1/detokenize", {"tokenId": token}, key)["statusCode"] == 200
        assert http(fn, "GET", f"/api/v1/tokens/{token}", None, key)["statusCode"] == 200
        assert http(fn, "GET", f"/api/v1/tokens/{elsewhere}", None, key)["statusCode"] == 404
        assert http(fn, "POST", "/api/v1/detokenize", {"tokenId": elsewhere}, key)["statusCode"] == 404
        assert http(fn, "GET", "/readyz")["statusCode"] == 200
        assert lambda_handler({**KEEP_WARM, "resources": [KEEP_WARM["resources"][0]]}, fn.context()) is None
        assert lambda_handler({"tokenId": token}, fn.context())["pan"] == "4111"
        assert "error" in lambda_handler({"data": {"pan": "1"}}, fn.context())  # not a reader's
    assert any(c.action == "kms:Decrypt" and c.resource == kms_keys["default"] for c in recorder.calls)
    assert_granted("reader", recorder, kms_keys)


def test_every_api_and_page_path_of_the_operator_is_granted(
    settings: Any, tmp_path: Path, kms_keys: dict[str, str], operators: dict[str, Any]
) -> None:
    key = make_api(["tokenize", "detokenize", "metadata", "ttl", "delete"], "o").key
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        created = http(fn, "POST", "/api/v1/tokens", {"data": {"pan": "4111"}}, key)
        token = response_json(created)["tokenId"]
        assert http(fn, "POST", "/api/v1/detokenize", {"tokenId": token}, key)["statusCode"] == 200
        assert http(fn, "GET", f"/api/v1/tokens/{token}", None, key)["statusCode"] == 200
        later = {"TTL": int(time.time()) + 7200}
        assert http(fn, "PATCH", f"/api/v1/tokens/{token}", later, key)["statusCode"] == 200
        assert http(fn, "GET", "/readyz")["statusCode"] == 200
        # The pages, as a signed-in operator holding every role.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        page = fresh_client(operators["everyone"])
        assert page.post("/tokenize", {"name": ["pan"], "value": ["4111"]}).status_code == 200
        assert page.post("/lookup", {"token": token}).status_code == 200
        reason = "customer asked for a copy of the card"
        assert page.post("/reveal", {"token": token, "reason": reason}).status_code == 200
        assert page.get("/tokens").status_code == 200
        assert page.get("/tokens", {"created_by": f"user:{operators['everyone'].pk}"}).status_code == 200
        day = datetime.now(UTC).date().isoformat()
        assert page.get("/audit", {"start": day, "end": day}).status_code == 200
        assert page.get("/audit/export.csv", {"start": day, "end": day}).status_code == 200
        assert page.get("/audit/verify").status_code == 200
        new_client = {"action": "create", "name": "billing", "scopes": ["tokenize"]}
        assert page.post("/clients", new_client).status_code == 200
        revoke = {
            "action": "revoke",
            "client": str(ApiClient.objects.get(name="billing").pk),
            "confirm": "yes",
        }
        assert page.post("/clients", revoke).status_code == 200
        assert page.get("/").status_code == 200
        assert page.get("/monitoring/").status_code == 200
        assert http(fn, "DELETE", f"/api/v1/tokens/{token}", None, key)["statusCode"] == 204
    for index in (AUDIT_INDEX, LIST_BY_CREATOR):
        arn = index.replace(A, iam_recorder.ACCOUNT)
        assert any(c.action == "dynamodb:Query" and c.resource == arn for c in recorder.calls)
    assert_granted("operator", recorder, kms_keys)


AGAINST_COPY = {c for c in MANAGE_COMMANDS if "--against-copy" in c}


@pytest.mark.parametrize("command", sorted(MANAGE_COMMANDS - {"setup_monitoring"} - AGAINST_COPY))
def test_every_allowed_manage_command_of_the_operator_is_granted(
    command: str, db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    make_api(["tokenize"], "w").tokenize({"pan": "4111"})  # an audit chain to verify
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        lambda_handler({"manage": command}, fn.context())
    denied = iam_recorder.denied(policy_of("operator", kms_keys), recorder.calls)
    assert not denied, "not granted to the operator:\n" + "\n".join(denied)


@pytest.mark.parametrize("command", sorted(AGAINST_COPY))
def test_verify_audit_against_the_copy_on_the_operator_is_granted(
    command: str, db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    import gzip

    make_api(["tokenize"], "w").tokenize({"pan": "4111"})  # an audit chain, and its copy
    bucket = f"token-vault-audit-copy-{iam_recorder.ACCOUNT}-{R}"
    s3 = aws.client("s3")
    s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": R}, ObjectLockEnabledForBucket=True
    )
    table = aws.client("dynamodb").scan(TableName=settings.VAULT_AUDIT_TABLE)["Items"]
    changes = [
        {"eventName": "INSERT", "tableName": "vault-audit", "dynamodb": {"Keys": i, "NewImage": i}}
        for i in table
    ]
    body = gzip.compress(b"".join(json.dumps(c).encode() + b"\n" for c in changes))
    s3.put_object(Bucket=bucket, Key="audit/2026/11/29/copy-1.gz", Body=body)
    settings.VAULT_AUDIT_COPY = f"s3://{bucket}/audit/"
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        settings.VAULT_AUDIT_COPY = f"s3://{bucket}/audit/"  # as the stage's environment would set it
        lambda_handler({"manage": command}, fn.context())
    assert ("s3", "GetObject") in recorder.operations
    assert_granted("operator", recorder, kms_keys)


def test_the_anomaly_check_schedule_of_the_operator_is_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    settings.ALERTS_SNS_TOPIC_ARN = f"arn:aws:sns:{R}:{iam_recorder.ACCOUNT}:token-vault-alerts"
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        settings.METRICS_SINK = "emf"  # on AWS: the check reads CloudWatch
        lambda_handler(CHECK_ANOMALIES, fn.context())
    assert ("cloudwatch", "GetMetricData") in recorder.operations
    assert_granted("operator", recorder, kms_keys)


def test_a_honeytoken_use_on_the_reader_and_its_alert_on_the_operator_are_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    from tokens import honeytokens
    from tokens.actors import RequestContext
    from tokens.admin_ops import COMMAND_LINE

    [decoy] = honeytokens.plant(COMMAND_LINE, RequestContext(channel="cli"), 1, ["card_number", "cvc"])
    key = make_api(["detokenize", "metadata"], "r").key
    crypto.reset()
    honeytokens.forget()  # the reader is another process: it reads the decoy set itself
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_reader", tmp_path, settings) as fn:
        assert http(fn, "POST", "/api/v1/detokenize", {"tokenId": decoy}, key)["statusCode"] == 200
        assert (
            http(fn, "POST", "/api/v1/detokenize/batch", {"tokens": [{"tokenId": decoy}]}, key)["statusCode"]
            == 200
        )
        assert lambda_handler({"tokenId": decoy}, fn.context())["tokenId"] == decoy
    assert ("dynamodb", "PutItem") in recorder.operations
    assert_granted("reader", recorder, kms_keys)
    settings.ALERTS_SNS_TOPIC_ARN = monitoring_aws.client("sns", R).create_topic(Name="token-vault-alerts")[
        "TopicArn"
    ]
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        lambda_handler(CHECK_ANOMALIES, fn.context())
    assert ("dynamodb", "UpdateItem") in recorder.operations and ("sns", "Publish") in recorder.operations
    assert_granted("operator", recorder, kms_keys)


def test_setup_monitoring_on_the_operator_is_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    # moto lacks PutAnomalyDetector: CloudWatch is stubbed at the client (the
    # recorder still sees each call); SNS is moto's.
    from monitoring.catalog import ALERTING

    cloudwatch = monitoring_aws.client("cloudwatch", R)
    with Stubber(cloudwatch) as stub:
        for _ in ALERTING:
            stub.add_response("put_anomaly_detector", {})
        for _ in ALERTING:
            stub.add_response("put_metric_alarm", {})
        with (
            iam_recorder.recording(kms_keys) as recorder,
            load_stage("syd_operator", tmp_path, settings) as fn,
        ):
            lambda_handler({"manage": "setup_monitoring"}, fn.context())
        stub.assert_no_pending_responses()
    assert ("cloudwatch", "PutAnomalyDetector") in recorder.operations
    assert_granted("operator", recorder, kms_keys)


@pytest.mark.parametrize("role", iam_recorder.ROLES)
def test_a_cold_start_reads_only_secrets_its_role_may_read(role: str, kms_keys: dict[str, str]) -> None:
    from vaultsite import secrets as vault_secrets

    client = vault_secrets._client(R, "")
    for name in ("secret-key", "api-key-pepper", "audit-hmac-key"):
        client.create_secret(
            Name=f"token-vault/{name}", SecretString=json.dumps({"current": "1", "1": "v" * 40})
        )
    client.create_secret(
        Name="token-vault/database", SecretString=json.dumps({"username": "u", "password": "p"})
    )
    with iam_recorder.recording(kms_keys) as recorder:
        vault_secrets.load({"VAULT_SECRETS_PREFIX": "token-vault/"}, R, "", {})
        if role == "operator":
            vault_secrets.database_url("token-vault/database", "db.example", R)
    assert len(recorder.operations) == (4 if role == "operator" else 3)  # one read of each
    assert_granted(role, recorder, kms_keys)
    if role != "operator":  # the request path never reads the database login
        call = iam_recorder.Call(
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:{R}:{iam_recorder.ACCOUNT}:secret:token-vault/database-Ab12Cd",
        )
        assert not iam_recorder.allows(policy_of(role, kms_keys), call)


def test_an_alert_sent_by_the_operator_schedule_is_granted(
    db: Any, settings: Any, tmp_path: Path, kms_keys: dict[str, str]
) -> None:
    from monitoring import simulator, store

    topic = monitoring_aws.client("sns", R).create_topic(Name="token-vault-alerts")["TopicArn"]
    settings.ALERTS_SNS_TOPIC_ARN = topic
    simulator.backfill("SYD", 6)
    minute = int(time.time()) // 60 * 60 - 60
    store.add("SYD", "detokenize", "not_found", minute, 100, 100.0)
    with iam_recorder.recording(kms_keys) as recorder, load_stage("syd_operator", tmp_path, settings) as fn:
        settings.METRICS_SINK = "db"  # the anomaly comes from the local store here
        lambda_handler(CHECK_ANOMALIES, fn.context())
    assert ("sns", "Publish") in recorder.operations and ("dynamodb", "UpdateItem") in recorder.operations
    assert_granted("operator", recorder, kms_keys)
