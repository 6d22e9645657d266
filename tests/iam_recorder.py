"""IAM for tests: the policies under infra/iam/ rendered for one function, a
small evaluator of them, and a recorder that turns every AWS call any boto3
client makes into the (action, resource, condition context) IAM would check.

The recorder wraps botocore's one entry for every API call, so it sees calls
made through any client factory; a service it cannot translate fails the test,
so a new kind of call must be taught here (and granted) before it passes.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import botocore.client

IAM = Path(__file__).resolve().parent.parent / "infra" / "iam"
ACCOUNT = "123456789012"  # moto's account
ROLES = ("writer", "reader", "operator")


def render(
    role: str,
    region: str,
    account: str = ACCOUNT,
    key_id: str = "mrk-1234abcd12ab34cd56ef1234567890ab",
    function: str = "token-vault-fn",
    region_code: str = "SYD",
) -> dict[str, Any]:
    text = (IAM / f"{role}.json").read_text()
    filled = string.Template(text).substitute(
        REGION=region, ACCOUNT_ID=account, KEY_ID=key_id, FUNCTION_NAME=function, REGION_CODE=region_code
    )
    return dict(json.loads(filled))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Call:
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __str__(self) -> str:
        extra = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{extra}"


def _condition_holds(condition: dict[str, Any], context: dict[str, tuple[str, ...]]) -> bool:
    for operator, tests in condition.items():
        for key, allowed in tests.items():
            allowed = set(_listed(allowed))
            present = context.get(key)
            if operator == "ForAllValues:StringEquals":
                # IAM: true when the key is absent, else every value must be allowed.
                if present is not None and not set(present) <= allowed:
                    return False
            elif operator == "StringEqualsIfExists":
                if present is not None and not all(v in allowed for v in present):
                    return False
            elif operator == "StringEquals":
                if present is None or not all(v in allowed for v in present):
                    return False
            else:
                raise AssertionError(f"teach tests/iam_recorder.py the condition operator {operator}")
    return True


def allows(policy: dict[str, Any], call: Call) -> bool:
    """An Allow statement matches the action, the resource and its conditions (no Deny is used)."""
    context = dict(call.context)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        if not any(fnmatchcase(call.action, a) for a in _listed(statement["Action"])):
            continue
        if not any(fnmatchcase(call.resource, r) for r in _listed(statement["Resource"])):
            continue
        if _condition_holds(statement.get("Condition", {}), context):
            return True
    return False


def denied(policy: dict[str, Any], calls: set[Call]) -> list[str]:
    return sorted(str(c) for c in calls if not allows(policy, c))


# --- translating calls -------------------------------------------------------------

_NAME = re.compile(r"#\w+|[A-Za-z_][A-Za-z0-9_]*")
_EXPRESSION_WORDS = frozenset(
    {
        "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN", "if_not_exists",
        "list_append", "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with",
        "contains", "size",
    }
)  # fmt: skip
_EXPRESSIONS = (
    "UpdateExpression", "ConditionExpression", "ProjectionExpression", "KeyConditionExpression",
    "FilterExpression",
)  # fmt: skip


def _attributes(params: dict[str, Any]) -> tuple[str, ...]:
    """The top-level attribute names a DynamoDB request touches (IAM's dynamodb:Attributes)."""
    names = set(params.get("Key", {})) | set(params.get("Item", {}))
    aliases = params.get("ExpressionAttributeNames", {})
    for key in _EXPRESSIONS:
        expression = params.get(key, "")
        if not isinstance(expression, str):
            # A boto3 resource's condition object, built into text after this point:
            # its names are not known here (no statement narrows those calls).
            continue
        text = re.sub(r":\w+", " ", expression)
        for word in _NAME.findall(text):
            if word.startswith("#"):
                names.add(aliases[word])
            elif word not in _EXPRESSION_WORDS:
                names.add(word)
    return tuple(sorted(names))


def _table(region: str, name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(op: str, params: dict[str, Any], region: str) -> list[Call]:
    if op == "TransactWriteItems":
        calls = []
        for item in params["TransactItems"]:
            ((kind, inner),) = item.items()
            calls += _dynamodb(TRANSACT[kind], inner, region)
        return calls
    if op == "TransactGetItems":
        return [c for item in params["TransactItems"] for c in _dynamodb("GetItem", item["Get"], region)]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [Call(f"dynamodb:{op}", _table(region, name)) for name in params["RequestItems"]]
    if "TableName" not in params:
        return [Call(f"dynamodb:{op}", "*")]
    context: dict[str, tuple[str, ...]] = {}
    if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"):
        attributes = _attributes(params)
        if attributes:
            context["dynamodb:Attributes"] = attributes
    if "ReturnValues" in params:
        context["dynamodb:ReturnValues"] = (params["ReturnValues"],)
    resource = _table(region, params["TableName"], params.get("IndexName"))
    return [Call(f"dynamodb:{op}", resource, tuple(sorted(context.items())))]


class Recorder:
    """Every AWS call made while it is active, as IAM would see it."""

    def __init__(self, kms_keys: dict[str, str]) -> None:
        # alias or id -> key ARN (Decrypt names no key: KMS takes it from the ciphertext)
        self.kms_keys = kms_keys
        self.calls: set[Call] = set()
        self.operations: list[tuple[str, str]] = []

    def record(self, service: str, op: str, params: dict[str, Any], region: str) -> None:
        self.operations.append((service, op))
        self.calls.update(self.translate(service, op, params, region))

    def _key(self, params: dict[str, Any], region: str) -> str:
        key = params.get("KeyId")
        if key is None:
            return self.kms_keys["default"]
        if key.startswith("arn:aws:kms:") and ":key/" in key:
            return str(key)
        return self.kms_keys.get(key) or f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"

    def translate(self, service: str, op: str, params: dict[str, Any], region: str) -> list[Call]:
        if service == "dynamodb":
            return _dynamodb(op, params, region)
        if service == "kms":
            resource = "*" if op in ("CreateKey", "ListKeys", "ListAliases") else self._key(params, region)
            context = tuple(
                sorted(
                    (f"kms:EncryptionContext:{k}", (str(v),))
                    for k, v in params.get("EncryptionContext", {}).items()
                )
            )
            return [Call(f"kms:{op}", resource, context)]
        if service == "cloudwatch":
            alarm = f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{{}}"
            if op == "PutMetricAlarm":
                return [Call("cloudwatch:PutMetricAlarm", alarm.format(params["AlarmName"]))]
            if op == "DescribeAlarms" and params.get("AlarmNames"):
                return [Call("cloudwatch:DescribeAlarms", alarm.format(n)) for n in params["AlarmNames"]]
            return [Call(f"cloudwatch:{op}", "*")]
        if service == "sns":
            if op == "CreateTopic":
                return [Call("sns:CreateTopic", f"arn:aws:sns:{region}:{ACCOUNT}:{params['Name']}")]
            return [Call(f"sns:{op}", params.get("TopicArn", "*"))]
        if service == "secretsmanager":
            secret = params["SecretId"]
            if not secret.startswith("arn:"):
                # A secret's ARN ends in six random characters after its name.
                secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}-Ab12Cd"
            return [Call(f"secretsmanager:{op}", secret)]
        if service == "s3":
            bucket = f"arn:aws:s3:::{params['Bucket']}"
            if op in ("ListObjectsV2", "ListObjects"):
                return [Call("s3:ListBucket", bucket)]
            if op in ("GetObject", "HeadObject"):
                return [Call("s3:GetObject", f"{bucket}/{params['Key']}")]
        raise AssertionError(f"teach tests/iam_recorder.py how IAM sees {service}:{op}")


@contextmanager
def recording(kms_keys: dict[str, str]) -> Iterator[Recorder]:
    recorder = Recorder(kms_keys)
    original = botocore.client.BaseClient._make_api_call

    def wrapped(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        recorder.record(service, operation_name, api_params, self.meta.region_name)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = wrapped  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
