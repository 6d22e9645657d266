"""zappa_settings.json: every stage loads in Zappa, carries a complete
configuration for its region and function role, and no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.lambda_events import ROOT, SETTINGS_FILE, STAGES, stage_cli

REGIONS = {"syd": ("ap-southeast-2", "SYD"), "sin": ("ap-southeast-1", "SIN")}
SECRETS = {"SECRET_KEY", "API_KEY_PEPPER", "AUDIT_HMAC_KEY", "DATABASE_URL"}
STAGE_ENV = {
    "VAULT_FUNCTION_ROLE", "VAULT_REGION_CODE", "VAULT_KMS_KEY", "VAULT_TABLE", "VAULT_AUDIT_TABLE",
    "VAULT_CLIENTS_TABLE", "METRICS_SINK", "ALLOWED_HOSTS",
}  # fmt: skip
MUST_NOT_SHIP = {
    "tests",
    "docs",
    "bench",
    "infra",
    "scripts",
    ".venv",
    "moto",
    "playwright",
    "pytest",
    "_pytest",
    "ruff",
}


def raw() -> dict[str, Any]:
    return dict(json.loads(SETTINGS_FILE.read_text()))


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_loads_with_its_region_role_and_handler(stage: str) -> None:
    cli = stage_cli(stage)
    short, role = stage.split("_")
    region, code = REGIONS[short]
    env = cli.aws_environment_variables
    assert cli.aws_region == region
    assert cli.lambda_name == f"token-vault-{short}-{role}"
    assert cli.lambda_handler == "vaultsite.lambda_handler.lambda_handler"
    assert cli.django_settings == "vaultsite.settings"
    assert cli.runtime == "python3.11"
    assert cli.xray_tracing is True and cli.manage_roles is False
    assert set(cli.vpc_config) == {"SubnetIds", "SecurityGroupIds"} and cli.vpc_config["SubnetIds"]
    assert set(env) >= STAGE_ENV
    assert env["VAULT_FUNCTION_ROLE"] == role and env["VAULT_REGION_CODE"] == code
    assert env["METRICS_SINK"] == "emf"
    assert env["VAULT_KMS_KEY"].startswith(f"arn:aws:kms:{region}:")
    assert f".execute-api.{region}.amazonaws.com" in env["ALLOWED_HOSTS"].split(",")
    assert cli.stage_config["cloudwatch_data_trace"] is False  # it would log request bodies
    # exclude matches a name at any depth (botocore needs its own docs/), exclude_glob the top level only.
    assert MUST_NOT_SHIP <= set(cli.stage_config["exclude"]) | set(cli.stage_config["exclude_glob"])
    assert not {"docs", "tests", "scripts"} & set(cli.stage_config["exclude"])


def test_every_stage_uses_the_same_multi_region_key_in_its_own_region() -> None:
    keys = {stage: stage_cli(stage).aws_environment_variables["VAULT_KMS_KEY"] for stage in STAGES}
    key_ids = {arn.rsplit("/", 1)[1] for arn in keys.values()}
    assert len(key_ids) == 1 and key_ids.pop().startswith("mrk-")
    for stage, arn in keys.items():
        assert arn.split(":")[3] == stage_cli(stage).aws_region


def test_the_base_and_region_stages_are_what_the_function_stages_extend() -> None:
    settings = raw()
    assert set(settings) == {"base", "syd", "sin", *STAGES}
    assert settings["syd"]["extends"] == settings["sin"]["extends"] == "base"
    for stage in STAGES:
        assert settings[stage]["extends"] == stage.split("_")[0]
        # extends is a shallow merge: a stage's dict must be whole, not a patch.
        assert set(settings[stage]["aws_environment_variables"]) >= STAGE_ENV


def test_no_stage_carries_a_secret() -> None:
    for stage in STAGES:
        cli = stage_cli(stage)
        assert not SECRETS & set(cli.environment_variables), stage
        assert not SECRETS & set(cli.aws_environment_variables), stage
        assert not SECRETS & set(cli.get_zappa_settings_string().split("'")), stage


def test_the_writer_and_reader_keep_warm_and_answer_within_api_gateway_s_limit() -> None:
    for stage in STAGES:
        cli = stage_cli(stage)
        if cli.aws_environment_variables["VAULT_FUNCTION_ROLE"] == "operator":
            assert cli.timeout_seconds >= 120  # migrations and audit verification run here
        else:
            assert cli.stage_config["keep_warm"] is True
            assert cli.timeout_seconds <= 29


def test_django_settings_load_with_each_stage_s_environment_and_refuse_without_secrets() -> None:
    """In one fresh interpreter per case, as a cold start would: the secrets come
    from Secrets Manager (moto in that interpreter), never from the environment."""
    script = (
        "import json, os, sys, runpy\n"
        "env, secrets = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
        "os.environ.clear(); os.environ.update(env)\n"
        "from moto import mock_aws\n"
        "with mock_aws():\n"
        "    import boto3\n"
        "    sm = boto3.client('secretsmanager', region_name=env['AWS_REGION'])\n"
        "    for name, value in secrets.items():\n"
        "        sm.create_secret(Name=name, SecretString=json.dumps(value))\n"
        "    try:\n"
        "        s = runpy.run_path('vaultsite/settings.py')\n"
        "        print(json.dumps({'ok': True, 'role': s['VAULT_FUNCTION_ROLE'],"
        " 'code': s['VAULT_REGION_CODE'], 'key': s['VAULT_KMS_KEY'],"
        " 'sink': s['METRICS_SINK'], 'debug': s['DEBUG'],"
        " 'engine': s['DATABASES']['default']['ENGINE'], 'secret_key': s['SECRET_KEY']}))\n"
        "    except Exception as exc:\n"
        "        print(json.dumps({'ok': False, 'error': type(exc).__name__, 'message': str(exc)}))\n"
    )
    ring = {"current": "1", "1": "v" * 40}
    managed = {f"token-vault/{n}": ring for n in ("secret-key", "api-key-pepper", "audit-hmac-key")}
    managed["token-vault/database"] = {"username": "vault", "password": "pw"}
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
    }
    cases = []
    for stage in STAGES:
        cli = stage_cli(stage)
        lambda_env = {"AWS_REGION": cli.aws_region, **aws, **cli.aws_environment_variables}
        cases.append((stage, lambda_env, managed, True))
    cli = stage_cli("syd_reader")
    reader_env = {"AWS_REGION": cli.aws_region, **aws, **cli.aws_environment_variables}
    cases.append(("no secrets", reader_env, {}, False))
    cases.append(("a secret in the environment", {**reader_env, "SECRET_KEY": "s"}, managed, False))
    no_prefix = {k: v for k, v in reader_env.items() if k != "VAULT_SECRETS_PREFIX"}
    plain = {"SECRET_KEY": "s", "API_KEY_PEPPER": "p", "AUDIT_HMAC_KEY": "a"}
    cases.append(("secrets in a Lambda's environment", {**no_prefix, **plain}, managed, False))
    cases.append(("other region's key", {**reader_env, "AWS_REGION": "ap-southeast-1"}, managed, False))
    for name, env, secrets, ok in cases:
        env = {**env, "PATH": os.environ["PATH"]}
        out = subprocess.run(
            [sys.executable, "-c", script, json.dumps(env), json.dumps(secrets)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out)
        assert result["ok"] is ok, (name, result)
        if ok:
            assert result["role"] == env["VAULT_FUNCTION_ROLE"] and result["sink"] == "emf", name
            assert result["debug"] is False and result["secret_key"] == "v" * 40, name
            postgres = env["VAULT_FUNCTION_ROLE"] == "operator"
            assert result["engine"].endswith("postgresql" if postgres else "sqlite3"), (name, result)
        else:
            assert result["error"] == "ImproperlyConfigured", (name, result)


def test_each_operator_stage_schedules_the_anomaly_check_with_its_topic() -> None:
    import json
    from pathlib import Path

    stages = json.loads((Path(__file__).resolve().parent.parent / "zappa_settings.json").read_text())
    for stage, region in (("syd_operator", "ap-southeast-2"), ("sin_operator", "ap-southeast-1")):
        assert stages[stage]["events"] == [
            {"function": "monitoring.scheduled.check_anomalies", "expression": "rate(1 minute)"}
        ]
        topic = stages[stage]["aws_environment_variables"]["ALERTS_SNS_TOPIC_ARN"]
        assert topic == f"arn:aws:sns:{region}:111122223333:token-vault-alerts"
    for stage in ("syd_writer", "syd_reader", "sin_writer", "sin_reader"):
        assert "events" not in stages[stage]


@pytest.mark.parametrize(("role", "serves_pages"), [("writer", False), ("reader", False), ("operator", True)])
def test_only_functions_with_pages_load_the_pages_middleware(role: str, serves_pages: bool) -> None:
    # Static files, sessions, CSRF, sign-in and the pages' CSP: on a writer or reader,
    # each would cost every request (and WhiteNoise every cold start) for no page.
    # django.setup(): every app's checks of the middleware must pass (allauth's does one).
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.MIDDLEWARE, settings.PAGE_ONLY_MIDDLEWARE]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vaultsite.settings", "VAULT_FUNCTION_ROLE": role}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    middleware, page_only = json.loads(done.stdout)
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in page_only
    assert "django.contrib.sessions.middleware.SessionMiddleware" in page_only
    assert all((m in middleware) == serves_pages for m in page_only)
    for always in (
        "vaultsite.middleware.RequestBudgetMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ):
        assert always in middleware
