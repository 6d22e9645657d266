"""The CloudFormation templates under infra/cfn/, checked offline: cfn-lint, and
the rules a review of the deployment found broken (endpoints, key access, table
protection, secrets). `make check` runs this file."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.decode import decode
from django.conf import settings as django_settings

from tests import iam_recorder
from tests.lambda_events import STAGES, stage_cli

ROOT = Path(__file__).resolve().parent.parent
CFN = ROOT / "infra" / "cfn"
REGIONS = ["ap-southeast-2", "ap-southeast-1"]  # as .cfnlintrc says for `make check`
TEMPLATES = sorted(p.name for p in CFN.iterdir() if p.suffix in (".yaml", ".json"))
# IAM service prefix -> the VPC endpoint service that serves it.
ENDPOINT_OF = {
    "dynamodb": "dynamodb",
    "kms": "kms",
    "cloudwatch": "monitoring",
    "sns": "sns",
    "secretsmanager": "secretsmanager",
    "logs": "logs",
    "xray": "xray",
    "s3": "s3",
}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PEPPER|HMAC|PRIVATE|CREDENTIAL|DATABASE_URL", re.I)
NOT_SECRETS = {"VAULT_SECRETS_PREFIX"}  # names where secrets are, not secrets
SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@")  # a URL with a password in it


@cache
def template(name: str) -> dict[str, Any]:
    parsed, problems = decode(str(CFN / name))
    assert not problems, problems
    return dict(parsed)


def resources(name: str, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template(name)["Resources"].items() if v["Type"] == kind}


def stage_config(stage: str) -> dict[str, Any]:
    return dict(stage_cli(stage).stage_config)


def role_of(stage: str) -> str:
    return stage.split("_")[1]


# --- cfn-lint ----------------------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_passes_cfn_lint(name: str) -> None:
    # Errors and warnings, as the cfn-lint command line reports by default.
    problems = [p for p in lint((CFN / name).read_text(), regions=REGIONS) if p.rule.id[0] in "EW"]
    assert [str(p) for p in problems] == []


def test_the_roles_template_is_generated_from_the_policies() -> None:
    from infra import cfn_roles

    assert (CFN / "roles.json").read_text() == cfn_roles.render(), "run python infra/cfn_roles.py"


# --- one role per function role ---------------------------------------------------------


def test_each_stage_role_is_defined_with_its_function_roles_policy() -> None:
    roles = resources("roles.json", "AWS::IAM::Role")
    names = {r["Properties"]["RoleName"]["Fn::Sub"]: r for r in roles.values()}
    for stage in STAGES:
        short, role = stage.split("_")
        defined = names[f"token-vault-${{RegionShort}}-{role}"]
        assert stage_config(stage)["role_name"] == f"token-vault-{short}-{role}"
        policy = defined["Properties"]["Policies"][0]["PolicyDocument"]
        sids = [s["Sid"] for s in policy["Statement"]]
        source = json.loads((iam_recorder.IAM / f"{role}.json").read_text())
        assert sids == [s["Sid"] for s in source["Statement"]]


# --- every function in a VPC has an endpoint for every service it calls ----------------


def endpoints() -> dict[str, dict[str, Any]]:
    found = {}
    for resource in resources("network.yaml", "AWS::EC2::VPCEndpoint").values():
        service = resource["Properties"]["ServiceName"]["Fn::Sub"]
        prefix = "com.amazonaws.${AWS::Region}."
        assert service.startswith(prefix), service
        found[service.removeprefix(prefix)] = resource["Properties"]
    return found


def services_called(stage: str) -> set[str]:
    """The services a function calls: those its role's policy grants (the permissions
    tests prove the policy covers every call), and X-Ray when tracing is on."""
    policy = iam_recorder.render(role_of(stage), "ap-southeast-2")
    called = {a.split(":")[0] for s in policy["Statement"] for a in s["Action"]}
    if stage_config(stage).get("xray_tracing"):
        called.add("xray")
    return called


def missing_endpoints(stage: str, available: dict[str, dict[str, Any]]) -> set[str]:
    unknown = services_called(stage) - set(ENDPOINT_OF)
    assert not unknown, f"teach ENDPOINT_OF which endpoint serves {unknown}"
    return {ENDPOINT_OF[s] for s in services_called(stage)} - set(available)


@pytest.mark.parametrize("stage", STAGES)
def test_a_function_in_a_vpc_has_an_endpoint_for_every_service_it_calls(stage: str) -> None:
    assert stage_config(stage)["vpc_config"]["SubnetIds"]
    assert missing_endpoints(stage, endpoints()) == set()


def test_the_rule_finds_a_missing_endpoint() -> None:
    without_sns = {k: v for k, v in endpoints().items() if k != "sns"}
    assert missing_endpoints("syd_operator", without_sns) == {"sns"}
    assert missing_endpoints("syd_writer", without_sns) == set()


def test_interface_endpoints_answer_inside_the_private_subnets() -> None:
    for service, props in endpoints().items():
        if service in ("dynamodb", "s3"):
            assert props["VpcEndpointType"] == "Gateway"
            assert props["RouteTableIds"] == [{"Ref": "PrivateRouteTable"}]
            continue
        assert props["VpcEndpointType"] == "Interface"
        assert props["PrivateDnsEnabled"] is True, service
        assert props["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
        assert props["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]


def test_the_network_has_no_route_to_the_internet() -> None:
    kinds = {r["Type"] for r in template("network.yaml")["Resources"].values()}
    assert not kinds & {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route"}


# --- a role can decrypt any key named in its function's configuration ----------------------


def keys_to_decrypt(config: dict[str, Any]) -> set[str]:
    """Keys a function's role must decrypt with: Lambda's environment key
    (aws_kms_key_arn) and the customer keys of the secrets it reads."""
    keys = {config["aws_kms_key_arn"]} if config.get("aws_kms_key_arn") else set()
    for secret in resources("data.yaml", "AWS::SecretsManager::Secret").values():
        if "KmsKeyId" in secret["Properties"]:
            keys.add(secret["Properties"]["KmsKeyId"])
    return keys


def undecryptable(stage: str, config: dict[str, Any]) -> list[str]:
    region = config["aws_region"]
    env = config["aws_environment_variables"]
    key_id = env["VAULT_KMS_KEY"].rsplit("/", 1)[1]
    account = env["VAULT_KMS_KEY"].split(":")[4]
    policy = iam_recorder.render(role_of(stage), region, account, key_id)
    problems = [
        f"{stage} cannot decrypt with {key}"
        for key in sorted(keys_to_decrypt(config))
        if not iam_recorder.allows(policy, iam_recorder.Call("kms:Decrypt", key))
    ]
    # The vault's own key: each role exactly its half (writer encrypts, reader decrypts).
    needs = {"writer": ["kms:GenerateDataKey"], "reader": ["kms:Decrypt"]}
    for action in needs.get(role_of(stage), ["kms:GenerateDataKey", "kms:Decrypt"]) + ["kms:DescribeKey"]:
        if not iam_recorder.allows(policy, iam_recorder.Call(action, env["VAULT_KMS_KEY"])):
            problems.append(f"{stage} cannot {action} with VAULT_KMS_KEY")
    return problems


@pytest.mark.parametrize("stage", STAGES)
def test_a_role_can_use_every_key_named_in_its_functions_configuration(stage: str) -> None:
    assert undecryptable(stage, stage_config(stage)) == []


def test_the_rule_finds_an_environment_key_the_role_cannot_decrypt() -> None:
    config = stage_config("syd_writer")
    config["aws_kms_key_arn"] = "arn:aws:kms:ap-southeast-2:111122223333:key/0a1b2c3d-env-key"
    assert undecryptable("syd_writer", config) == [
        "syd_writer cannot decrypt with arn:aws:kms:ap-southeast-2:111122223333:key/0a1b2c3d-env-key"
    ]


def test_the_key_policy_lets_every_function_role_use_the_key() -> None:
    key = template("kms.yaml")["Resources"]["Key"]["Properties"]["KeyPolicy"]
    replica = template("kms.yaml")["Resources"]["ReplicaKey"]["Properties"]["KeyPolicy"]
    assert key == replica
    (use,) = [s for s in key["Statement"] if s["Sid"] == "FunctionRolesUse"]
    pattern = use["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"].replace(
        "${AWS::AccountId}", "1" * 12
    )
    for stage in STAGES:
        role_arn = f"arn:aws:iam::{'1' * 12}:role/{stage_config(stage)['role_name']}"
        assert re.fullmatch(pattern.replace("*", ".*"), role_arn)
    # Administrators manage the key but never use it on data.
    for statement in key["Statement"]:
        if statement["Sid"] != "FunctionRolesUse":
            assert not {"kms:Decrypt", "kms:GenerateDataKey", "kms:*"} & set(statement["Action"])


# --- every table has point-in-time recovery and deletion protection ------------------------


def tables() -> dict[str, dict[str, Any]]:
    found = {}
    for name in TEMPLATES:
        for kind in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            for logical, resource in resources(name, kind).items():
                found[f"{name}:{logical}"] = resource
    return found


def unprotected(resource: dict[str, Any]) -> list[str]:
    props = resource["Properties"]
    problems = []
    if resource.get("DeletionPolicy") != "Retain":
        problems.append("DeletionPolicy is not Retain")
    places = props["Replicas"] if resource["Type"] == "AWS::DynamoDB::GlobalTable" else [props]
    for place in places:
        where = place.get("Region", "table")
        if place.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True:
            problems.append(f"{where}: point-in-time recovery off")
        if place.get("DeletionProtectionEnabled") is not True:
            problems.append(f"{where}: deletion protection off")
    return problems


def test_every_table_and_every_replica_has_pitr_and_deletion_protection() -> None:
    assert {k: unprotected(v) for k, v in tables().items()} == {k: [] for k in tables()}


def test_the_rule_finds_a_replica_without_protection() -> None:
    table = json.loads(json.dumps(template("data.yaml")["Resources"]["AuditTable"]))
    del table["Properties"]["Replicas"][1]["DeletionProtectionEnabled"]
    assert unprotected(table) == [f"{table['Properties']['Replicas'][1]['Region']}: deletion protection off"]


def test_every_global_table_has_a_replica_in_both_regions() -> None:
    for key, resource in tables().items():
        if resource["Type"] == "AWS::DynamoDB::GlobalTable":
            regions = [r["Region"] for r in resource["Properties"]["Replicas"]]
            assert regions == [{"Ref": "AWS::Region"}, {"Ref": "ReplicaRegion"}], key


def test_every_table_a_setting_names_is_defined() -> None:
    named = {
        getattr(django_settings, setting)
        for setting in dir(django_settings)
        if re.fullmatch(r"VAULT_[A-Z_]*TABLE", setting)
    }
    defined = {t["Properties"]["TableName"] for t in tables().values()}
    assert named and named <= defined, named - defined


def test_the_decoy_table_is_global_and_only_readers_and_operators_may_use_it() -> None:
    # Honeytokens: every region must know the decoys and see their uses; the
    # writer serves no operation on an existing token, so it gets no access.
    decoys = template("data.yaml")["Resources"]["DecoyTable"]
    assert decoys["Type"] == "AWS::DynamoDB::GlobalTable"
    assert decoys["Properties"]["TableName"] == django_settings.VAULT_DECOY_TABLE
    assert decoys["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "TTL", "Enabled": True}
    arn = f"arn:aws:dynamodb:ap-southeast-2:{iam_recorder.ACCOUNT}:table/vault-decoys"
    granted = {}
    for role in ("writer", "reader", "operator"):
        policy = iam_recorder.render(role, "ap-southeast-2")
        granted[role] = sorted(
            action
            for s in policy["Statement"]
            if arn in s["Resource"]
            for action in s["Action"]
            if not action.startswith("dynamodb:Describe")
        )
    assert granted == {
        "writer": [],
        "reader": ["dynamodb:PutItem", "dynamodb:Query"],
        "operator": ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
    }


# --- no secret in an environment variable -----------------------------------------------


def secrets_in(variables: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, value in variables.items()
        if (SECRET_NAME.search(name) and name not in NOT_SECRETS) or SECRET_VALUE.search(str(value))
    )


def test_no_stage_sets_a_secret_in_an_environment_variable() -> None:
    raw = json.loads((ROOT / "zappa_settings.json").read_text())
    for stage, config in raw.items():
        for key in ("environment_variables", "aws_environment_variables"):
            assert secrets_in(config.get(key, {})) == [], (stage, key)
    for stage in STAGES:  # after `extends`, as Zappa sees them
        config = stage_config(stage)
        assert secrets_in({**config["environment_variables"], **config["aws_environment_variables"]}) == []


def test_the_rule_finds_a_secret_in_an_environment_variable() -> None:
    found = {
        "SECRET_KEY": "x",
        "VAULT_TABLE": "t",
        "VAULT_SECRETS_PREFIX": "token-vault/",
        "DB": "postgres://vault:hunter2@db:5432/vault",
    }
    assert secrets_in(found) == ["DB", "SECRET_KEY"]


def test_no_template_puts_a_secret_in_a_function_or_a_literal_password() -> None:
    for name in TEMPLATES:
        for resource in resources(name, "AWS::Lambda::Function").values():
            assert secrets_in(resource["Properties"].get("Environment", {}).get("Variables", {})) == []
        text = (CFN / name).read_text()
        for line in text.splitlines():
            if "Password" in line and ":" in line:
                assert "{{resolve:secretsmanager:" in line or "Password:" not in line.split("#")[0], line


# --- the audit log's independent, write-once copy ------------------------------------------


def test_every_audit_replica_streams_its_changes_to_the_copy() -> None:
    audit_table = template("data.yaml")["Resources"]["AuditTable"]["Properties"]
    streams = [r.get("KinesisStreamSpecification", {}).get("StreamArn") for r in audit_table["Replicas"]]
    assert streams == [{"Ref": "HomeAuditChangesArn"}, {"Ref": "ReplicaAuditChangesArn"}]


def test_the_copy_cannot_be_deleted_or_overwritten_before_its_retention() -> None:
    (bucket,) = resources("audit-copy.yaml", "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["ObjectLockEnabled"] is True and props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"


def test_the_copy_is_written_by_firehose_only_and_never_deleted_by_it() -> None:
    (role,) = resources("audit-copy.yaml", "AWS::IAM::Role").values()
    trusted = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trusted] == [{"Service": "firehose.amazonaws.com"}]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"s3:PutObject", "kms:Decrypt", "kinesis:GetRecords"} <= actions
    assert not {a for a in actions if "Delete" in a or a.endswith("*")}


COPY_BUCKET = "arn:aws:s3:::token-vault-audit-copy-${AWS::AccountId}-${AWS::Region}"


def s3_grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    return {
        (action, resource["Fn::Sub"] if isinstance(resource, dict) else resource)
        for s in statements
        for action in listed(s["Action"])
        if action.startswith("s3:")
        for resource in listed(s["Resource"])
    }


def test_only_the_operator_may_read_the_copy_and_nothing_else_in_s3() -> None:
    roles = resources("roles.json", "AWS::IAM::Role")
    granted = {
        name: s3_grants(role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
        for name, role in roles.items()
    }
    assert granted == {
        "WriterRole": set(),
        "ReaderRole": set(),
        "OperatorRole": {("s3:ListBucket", COPY_BUCKET), ("s3:GetObject", COPY_BUCKET + "/audit/*")},
    }


def test_the_vpcs_s3_endpoint_reaches_the_copy_and_nothing_else() -> None:
    policy = endpoints()["s3"]["PolicyDocument"]
    assert s3_grants(policy["Statement"]) == {
        (action, resource) for action in ("s3:GetObject", "s3:ListBucket")
        for resource in (COPY_BUCKET, COPY_BUCKET + "/audit/*")
    }  # fmt: skip


def test_the_copy_is_written_where_and_as_verify_audit_reads_it() -> None:
    # tokens/audit_copy.py reads GZIP objects of newline-delimited changes under audit/
    (delivery,) = resources("audit-copy.yaml", "AWS::KinesisFirehose::DeliveryStream").values()
    s3 = delivery["Properties"]["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"].startswith("audit/") and not s3["ErrorOutputPrefix"].startswith("audit/")
    assert s3["CompressionFormat"] == "GZIP"
    processing = s3["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    assert [p["Type"] for p in processing["Processors"]] == ["AppendDelimiterToRecord"]
    (bucket,) = resources("audit-copy.yaml", "AWS::S3::Bucket").values()
    name = bucket["Properties"]["BucketName"]["Fn::Sub"]
    assert COPY_BUCKET == "arn:aws:s3:::" + name


def test_the_rule_finds_a_copy_bucket_without_object_lock() -> None:
    bucket = json.loads(json.dumps(template("audit-copy.yaml")["Resources"]["AuditCopyBucket"]))
    assert copy_unlocked(bucket) == []
    bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] = "GOVERNANCE"
    assert copy_unlocked(bucket) == ["retention is not in compliance mode"]
    del bucket["Properties"]["ObjectLockEnabled"]
    assert copy_unlocked(bucket)[0] == "Object Lock is off"


def copy_unlocked(bucket: dict[str, Any]) -> list[str]:
    props = bucket["Properties"]
    problems = []
    if props.get("ObjectLockEnabled") is not True:
        problems.append("Object Lock is off")
    retention = props.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
    if retention.get("Mode") != "COMPLIANCE":
        problems.append("retention is not in compliance mode")
    if props.get("VersioningConfiguration") != {"Status": "Enabled"}:
        problems.append("versioning is off")
    return problems


def test_every_s3_bucket_in_the_templates_is_locked() -> None:
    for name in TEMPLATES:
        for logical, bucket in resources(name, "AWS::S3::Bucket").items():
            assert copy_unlocked(bucket) == [], f"{name}:{logical}"
