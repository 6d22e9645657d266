"""Secrets from Secrets Manager (moto), and `manage.py rotate_secret` for each:
what an older value made keeps working after a rotation and a cold start."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from tests.conftest import audit_where, make_api
from tokens import api_keys, audit
from tokens.models import ApiClient
from vaultsite import secrets as vault_secrets

PREFIX = "token-vault/"
REGION = "ap-southeast-2"
FIRST = {"SECRET_KEY": "s" * 40, "API_KEY_PEPPER": "p" * 40, "AUDIT_HMAC_KEY": "a" * 40}


def cold_start(settings: Any) -> None:
    """What settings.py does when a function starts: read each secret once."""
    rings = vault_secrets.load({"VAULT_SECRETS_PREFIX": PREFIX}, REGION, "", {})
    settings.VAULT_KEYRINGS = vault_secrets.Keyrings(rings, PREFIX, REGION, "")
    settings.SECRET_KEY = rings["SECRET_KEY"].value
    settings.SECRET_KEY_FALLBACKS = rings["SECRET_KEY"].older()


@pytest.fixture
def managed(settings: Any) -> None:
    """The three secrets in Secrets Manager as the data stack creates them, loaded."""
    client = vault_secrets._client(REGION, "")
    for setting, name in vault_secrets.NAMES.items():
        client.create_secret(
            Name=PREFIX + name, SecretString=json.dumps({"current": "1", "1": FIRST[setting]})
        )
    settings.VAULT_SECRETS_PREFIX = PREFIX
    cold_start(settings)


def test_settings_read_each_secret_from_secrets_manager(managed: None, settings: Any) -> None:
    assert settings.SECRET_KEY == FIRST["SECRET_KEY"] and settings.SECRET_KEY_FALLBACKS == []
    assert settings.VAULT_KEYRINGS.current("API_KEY_PEPPER") == ("1", FIRST["API_KEY_PEPPER"])
    assert settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY") == ("1", FIRST["AUDIT_HMAC_KEY"])


def test_a_secret_in_the_environment_is_refused_when_secrets_manager_is_configured() -> None:
    env = {"VAULT_SECRETS_PREFIX": PREFIX, "API_KEY_PEPPER": "x"}
    with pytest.raises(ImproperlyConfigured, match="API_KEY_PEPPER must come from Secrets Manager"):
        vault_secrets.load(env, REGION, "", {})


def test_a_lambda_function_without_secrets_manager_refuses_to_start() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "token-vault-syd-writer", **FIRST}
    with pytest.raises(ImproperlyConfigured, match="on Lambda, set VAULT_SECRETS_PREFIX"):
        vault_secrets.load(env, REGION, "", {})


def test_a_missing_secret_stops_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="could not be read .ResourceNotFoundException."):
        vault_secrets.load({"VAULT_SECRETS_PREFIX": "elsewhere/"}, REGION, "", {})


def test_a_malformed_secret_stops_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="current id '2' has no value"):
        vault_secrets.parse("x", json.dumps({"current": "2", "1": "v" * 40}))


def test_rotating_secret_key_keeps_signed_values_valid(managed: None, settings: Any) -> None:
    signed = signing.dumps({"session": "before"})
    call_command("rotate_secret", "SECRET_KEY")
    cold_start(settings)
    assert settings.SECRET_KEY != FIRST["SECRET_KEY"]
    assert settings.SECRET_KEY_FALLBACKS == [FIRST["SECRET_KEY"]]
    assert signing.loads(signed) == {"session": "before"}
    assert signing.dumps({"a": 1}) != signing.dumps({"a": 1}, key=FIRST["SECRET_KEY"])


def test_rotating_the_pepper_keeps_every_api_key_working(managed: None, settings: Any, db: Any) -> None:
    before = make_api(["tokenize"], "before")
    stale = settings.VAULT_KEYRINGS  # a container started before the rotation
    call_command("rotate_secret", "API_KEY_PEPPER")
    cold_start(settings)
    after = make_api(["tokenize"], "after")
    assert ApiClient.objects.get(name="before").key_hash[:2] != "2$"
    assert ApiClient.objects.get(name="after").key_hash.startswith("2$")
    assert len(ApiClient.objects.get(name="after").key_hash) == 64
    assert before.tokenize({"pan": "1"}) and after.tokenize({"pan": "2"})
    # An older container meets the new pepper's id, reads the secret again once.
    settings.VAULT_KEYRINGS = stale
    assert api_keys.authenticate(after.key or "") is not None


def test_a_key_hashed_with_an_unknown_pepper_is_refused(db: Any) -> None:
    _, key = ApiClient.issue("svc", ["tokenize"])
    assert api_keys.key_hash(key, "7") == ""
    client = ApiClient.objects.get(name="svc")
    client.key_hash = "7$" + client.key_hash[2:]
    client.save()
    assert api_keys.authenticate(key) is None


def test_rotating_the_audit_key_keeps_old_chains_verifiable(managed: None, settings: Any, db: Any) -> None:
    api = make_api(["tokenize"], "svc")
    api.tokenize({"pan": "1"})
    call_command("rotate_secret", "AUDIT_HMAC_KEY")
    cold_start(settings)
    audit.reset_writer()
    api.tokenize({"pan": "2"})
    keys = {r["key_id"] for r in audit.all_records()}
    assert keys == {"1", "2"}
    assert audit.verify().ok
    # Without the old value (and no secret to re-read), old records cannot verify.
    ring = vault_secrets.Keyring(
        current="2", values={"2": settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")[1]}
    )
    settings.VAULT_KEYRINGS = vault_secrets.Keyrings(
        {**settings.VAULT_KEYRINGS.rings, "AUDIT_HMAC_KEY": ring}, "", REGION, ""
    )
    result = audit.verify()
    assert not result.ok and result.problem.endswith("made with an unknown audit key")


def test_a_rotation_is_audited(managed: None, db: Any) -> None:
    call_command("rotate_secret", "API_KEY_PEPPER")
    (record,) = audit_where(action="secret_rotate")
    assert (record["outcome"], record["detail"], record["actor_id"]) == ("success", "API_KEY_PEPPER", "cli")


def test_a_rotation_needs_secrets_manager(db: Any) -> None:
    with pytest.raises(CommandError, match="VAULT_SECRETS_PREFIX is not set"):
        call_command("rotate_secret", "SECRET_KEY")


def test_an_unknown_secret_name_is_refused(managed: None, db: Any) -> None:
    with pytest.raises(CommandError, match="name: one of SECRET_KEY, API_KEY_PEPPER, AUDIT_HMAC_KEY"):
        call_command("rotate_secret", "DATABASE_URL")
