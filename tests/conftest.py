"""Shared fixtures: AWS replaced in-process by moto, a cast of API clients."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from moto import mock_aws

from tests import emulator_speed
from tokens import api_keys, audit, aws, crypto, honeytokens, vault
from tokens.bootstrap import bootstrap
from tokens.models import ApiClient

emulator_speed.copy_each_table_once()

MARKER = "4111-MARKER-SECRET-9731"
# A marker that passes the card type's rules (Luhn-valid, found in no test card list).
CARD_MARKER = "4973 1722 4066 0003"


@pytest.fixture(autouse=True)
def vault_aws(settings: Any) -> Iterator[None]:
    """A fresh emulated DynamoDB and KMS for each test, with the vault's tables and key."""
    settings.AWS_ENDPOINT_URL = ""
    settings.VAULT_KMS_KEY = "alias/tokenizer"
    from tokens.api.decorators import limiter

    limiter.hits.clear()  # rate-limit windows are per process; start each test afresh
    api_keys.forget()  # and so are remembered API keys
    honeytokens.forget()  # and the set of decoys a process read
    with mock_aws():
        # Built clients are kept between tests (building one costs ~0.1 s);
        # moto intercepts them whenever a mock is active.
        audit.reset_writer()
        vault.forget_ready()
        crypto.reset()  # key versions loaded in an earlier test's emulator
        kms = aws.client("kms")
        key_id = kms.create_key(Description="test")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/tokenizer", TargetKeyId=key_id)
        bootstrap()
        crypto.reset()  # bootstrap's canary loaded a key version: each test starts without one
        yield
    audit.reset_writer()


@pytest.fixture(autouse=True)
def _script_prefix() -> Iterator[None]:
    """Zappa's handler sets Django's URL prefix to the stage name; undo it after each test."""
    from django.urls import set_script_prefix

    yield
    set_script_prefix("/")


class Api:
    """A test client for the JSON API, holding one API key."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json.dumps(body), content_type="application/json", **self._headers())

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json.dumps(body), content_type="application/json", **self._headers())

    def get(self, path: str) -> Any:
        return self.client.get(path, **self._headers())

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self._headers())

    def tokenize(self, data: dict[str, Any]) -> str:
        response = self.post("/api/v1/tokens", {"data": data})
        assert response.status_code == 201, response.content
        return str(response.json()["tokenId"])


def make_api(scopes: list[str], name: str | None = None, fields: list[str] | None = None) -> Api:
    _, key = ApiClient.issue(name or "svc-" + "-".join(scopes), scopes, fields)
    return Api(key)


@pytest.fixture
def full_api(db: Any) -> Api:
    return make_api(["tokenize", "detokenize", "metadata", "ttl", "delete"], "full")


@pytest.fixture
def writer_api(db: Any) -> Api:
    return make_api(["tokenize"], "writer")


@pytest.fixture
def reader_api(db: Any) -> Api:
    return make_api(["detokenize"], "reader")


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    return dict(response.json()["error"])


class CallLog:
    """AWS operations made through the vault's clients, as (service, operation)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.calls.append((model.service_model.endpoint_prefix, model.name))

    def count(self, service: str, operation: str) -> int:
        return self.calls.count((service, operation))

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def aws_calls() -> Iterator[CallLog]:
    log = CallLog()
    clients = [aws.client(service) for service in ("kms", "dynamodb")]
    for client in clients:
        client.meta.events.register("before-call", log)
    yield log
    for client in clients:
        client.meta.events.unregister("before-call", log)


def raw_item(token_id: str) -> dict[str, Any]:
    from django.conf import settings

    item = aws.client("dynamodb").get_item(TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token_id}})
    return dict(item["Item"])


def put_raw(item: dict[str, Any]) -> None:
    from django.conf import settings

    aws.client("dynamodb").put_item(TableName=settings.VAULT_TABLE, Item=item)


def audit_records() -> list[dict[str, Any]]:
    return sorted(audit.all_records(), key=lambda r: (r["chain"], r["seq"]))


# --- operators (the pages) ------------------------------------------------------
# A cast of operators, one per role plus none, each signed in with MFA enrolled.

ROLE_NAMES = ("tokenizer", "detokenizer", "ttl_manager", "auditor", "vault_admin")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    # The shared cache (rate limits, used TOTP codes) lives in a table migrations do not make.
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def clean_cache(db: Any) -> None:
    from django.core.cache import cache

    cache.clear()


def totp_code(secret: str = TOTP_SECRET, at: float | None = None, margin: float = 2.0) -> str:
    """The authenticator's code now (or `at`). Now: if fewer than `margin` seconds of the
    code's period are left, wait for the next, so the server still takes it when it
    arrives (it accepts the current period only; a browser's round trip can take seconds)."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.conf import settings

    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    if at is None:
        left = period - time.time() % period
        if left < margin:
            time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time() if at is None else at) // period))


def make_operator(
    username: str,
    roles: tuple[str, ...] = (),
    *,
    mfa: bool = True,
    must_change: bool = False,
    password: str = "correct-horse-battery-9",
) -> Any:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tokens.models import OperatorAccount

    user = get_user_model().objects.create_user(username, f"{username}@example.org", password)
    user.groups.set([Group.objects.get(name=r) for r in roles])
    user.is_staff = "vault_admin" in roles
    user.save()
    OperatorAccount.objects.create(user=user, must_change_password=must_change)
    if mfa:
        TOTP.activate(user, TOTP_SECRET)
    return user


def fresh_client(user: Any, authenticated_at: float | None = None) -> Client:
    """A test client signed in as `user`, as if through password + TOTP at `authenticated_at` (now)."""
    client = Client()
    client.force_login(user)
    session = client.session
    at = time.time() if authenticated_at is None else authenticated_at
    session["account_authentication_methods"] = [
        {"method": "password", "at": at, "username": user.username},
        {"method": "mfa", "at": at, "type": "totp", "id": 1},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def operators(clean_cache: None) -> dict[str, Any]:
    """One operator per role, `nobody` with none, `everyone` with all."""
    cast = {role: make_operator(role, (role,)) for role in ROLE_NAMES}
    cast["nobody"] = make_operator("nobody")
    cast["everyone"] = make_operator("everyone", ROLE_NAMES)
    return cast


def audit_where(**match: Any) -> list[dict[str, Any]]:
    """Every audit record whose keys equal `match`, oldest first."""
    found = [r for r in audit.all_records() if all(r.get(k) == v for k, v in match.items())]
    return sorted(found, key=lambda r: (r["at"], r["seq"]))


@pytest.fixture
def inbox(settings: Any) -> Any:
    """An SNS topic (set as ALERTS_SNS_TOPIC_ARN) with an SQS queue subscribed: call it
    to read what was sent since the last call."""
    import boto3

    from monitoring import aws as monitoring_aws

    sns = monitoring_aws.client("sns")
    sqs = boto3.client("sqs", region_name="ap-southeast-2")  # only to read what SNS delivered
    topic = sns.create_topic(Name="token-vault-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    settings.ALERTS_SNS_TOPIC_ARN = topic

    def read() -> list[dict[str, str]]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in got]

    return read
