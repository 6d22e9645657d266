"""Lambda events and a context as AWS sends them, and a fixture that loads one
Zappa stage in-process (zappa_settings.py generated from zappa_settings.json)."""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core import signals
from django.db import close_old_connections
from zappa.cli import ZappaCLI
from zappa.handler import LambdaHandler

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "zappa_settings.json"
STAGES = ("syd_writer", "syd_reader", "syd_operator", "sin_writer", "sin_reader", "sin_operator")


@dataclass
class Context:
    function_name: str = "token-vault-syd-writer"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 20000


def stage_cli(stage: str) -> ZappaCLI:
    """Zappa's own view of a stage (extends resolved), without AWS credentials."""
    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_credentials = False
    cli.load_settings(str(SETTINGS_FILE))
    return cli


@functools.cache  # parsing zappa_settings.json once per stage, not per event
def host_of(stage: str) -> str:
    region = stage_cli(stage).aws_region
    return f"a1b2c3d4e5.execute-api.{region}.amazonaws.com"


def apigw_v1(
    stage: str, method: str, path: str, body: Any = None, key: str | None = None, base64_body: bool = False
) -> dict[str, Any]:
    headers = {
        "Host": host_of(stage),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.7, 130.176.1.1",
        "User-Agent": "integration-test",
    }
    raw = None if body is None else json.dumps(body)
    if raw is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if raw is not None and base64_body:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "integration-test"},
        },
        "body": raw,
        "isBase64Encoded": base64_body,
    }


def apigw_v2(stage: str, method: str, path: str, body: Any = None, key: str | None = None) -> dict[str, Any]:
    headers = {
        "host": host_of(stage),
        "x-forwarded-proto": "https",
        "x-forwarded-for": "203.0.113.7",
        "user-agent": "integration-test",
    }
    if body is not None:
        headers["content-type"] = "application/json"
    if key:
        headers["authorization"] = f"Bearer {key}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": f"/{stage}{path}",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "111122223333",
            "apiId": "a1b2c3d4e5",
            "domainName": host_of(stage),
            "http": {
                "method": method,
                "path": f"/{stage}{path}",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "integration-test",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": stage,
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


class ZappaStage:
    """One stage loaded as Lambda loads it: zappa_settings.py on sys.path, the
    stage's aws_environment_variables applied to Django settings."""

    def __init__(self, stage: str, tmp: Path) -> None:
        self.stage = stage
        self.cli = stage_cli(stage)
        self.env: dict[str, str] = dict(self.cli.aws_environment_variables)
        self.role = self.env["VAULT_FUNCTION_ROLE"]
        (tmp / "zappa_settings.py").write_text(self.cli.get_zappa_settings_string())
        self.path = str(tmp)

    def context(self) -> Context:
        return Context(function_name=self.cli.lambda_name)


@contextmanager
def load_stage(stage: str, tmp: Path, settings: Any) -> Iterator[ZappaStage]:
    """Zappa's singleton set up for `stage` (a cold start), undone after."""
    from tests.role_urls import RoleUrls

    tmp = tmp / stage
    tmp.mkdir(parents=True, exist_ok=True)
    loaded = ZappaStage(stage, tmp)
    settings.VAULT_FUNCTION_ROLE = loaded.role
    settings.ROOT_URLCONF = RoleUrls(loaded.role)
    settings.ALLOWED_HOSTS = [h for h in loaded.env["ALLOWED_HOSTS"].split(",") if h]
    settings.VAULT_REGION_CODE = loaded.env["VAULT_REGION_CODE"]
    settings.METRICS_SINK = loaded.env["METRICS_SINK"]  # emf on Lambda: no database on the request path
    if loaded.role in ("writer", "reader"):  # as vaultsite/settings.py does for these roles
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m not in settings.PAGE_ONLY_MIDDLEWARE]
    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    sys.path.insert(0, loaded.path)
    sys.modules.pop("zappa_settings", None)
    LambdaHandler._LambdaHandler__instance = None  # type: ignore[attr-defined]
    # As Django's test client does: pytest-django owns the test database connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        LambdaHandler()  # what a cold start does: settings, env, Django app
        for handler in saved_handlers:  # Django's logging setup dropped pytest's capture
            if handler not in root.handlers:
                root.addHandler(handler)
        yield loaded
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        LambdaHandler._LambdaHandler__instance = None  # type: ignore[attr-defined]
        sys.modules.pop("zappa_settings", None)
        sys.path.remove(loaded.path)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
