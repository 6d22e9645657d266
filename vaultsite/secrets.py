"""The vault's secrets, versioned: from AWS Secrets Manager on Lambda, from
environment variables locally and in tests. The settings loader's one seam to
Secrets Manager.

A secret in Secrets Manager is a JSON object: {"current": ID, ID: value, ...}.
`current` signs, hashes and MACs new things; every listed value still verifies
what it made, so a rotation (manage.py rotate_secret) breaks no session, API
key or audit chain. API-key hashes and audit records carry the id of the value
that made them. A value from an environment variable has the id "1", the id a
hash or record without one was made with.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# setting -> the secret's name after VAULT_SECRETS_PREFIX
NAMES = {
    "SECRET_KEY": "secret-key",
    "API_KEY_PEPPER": "api-key-pepper",
    "AUDIT_HMAC_KEY": "audit-hmac-key",
}
FIRST_ID = "1"
ID = re.compile(r"^[0-9]{1,6}$")
# An id this process does not know (a rotation since its cold start) re-reads the
# secret, at most this often.
REFRESH_EVERY = 60.0


@dataclass(frozen=True)
class Keyring:
    current: str
    values: Mapping[str, str]

    @property
    def value(self) -> str:
        return self.values[self.current]

    def older(self) -> list[str]:
        """Every value but the current one, newest first (Django's SECRET_KEY_FALLBACKS)."""
        ids = sorted((i for i in self.values if i != self.current), key=int, reverse=True)
        return [self.values[i] for i in ids]


def parse(name: str, text: str) -> Keyring:
    try:
        raw = json.loads(text)
    except ValueError:
        raise ImproperlyConfigured(f"secret {name} is not JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("current"), str):
        raise ImproperlyConfigured(f'secret {name} must be {{"current": ID, ID: value, ...}}')
    values = {k: v for k, v in raw.items() if k != "current"}
    for key_id, value in values.items():
        if not ID.match(key_id) or not isinstance(value, str) or len(value) < 32:
            raise ImproperlyConfigured(
                f"secret {name}: id {key_id!r} needs digits and a value of 32+ characters"
            )
    if raw["current"] not in values:
        raise ImproperlyConfigured(f"secret {name}: current id {raw['current']!r} has no value")
    return Keyring(current=raw["current"], values=values)


def from_env(value: str) -> Keyring:
    return Keyring(current=FIRST_ID, values={FIRST_ID: value})


@functools.lru_cache(maxsize=4)
def _client(region: str, endpoint: str) -> Any:
    """One client per region and endpoint: a cold start reads three or four secrets."""
    import boto3
    import botocore.config

    config = botocore.config.Config(
        retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5
    )
    return boto3.session.Session().client(
        "secretsmanager", region_name=region, endpoint_url=endpoint or None, config=config
    )


def read(secret_id: str, region: str, endpoint: str = "") -> Keyring:
    """One GetSecretValue (this region's replica of the secret)."""
    import botocore.exceptions

    try:
        text = _client(region, endpoint).get_secret_value(SecretId=secret_id)["SecretString"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ImproperlyConfigured(f"secret {secret_id} could not be read ({code})") from None
    return parse(secret_id, text)


def rotate(secret_id: str, region: str, endpoint: str = "", new_value: str | None = None) -> Keyring:
    """Add a new value under the next id and make it current; keep every older one."""
    import secrets as random

    ring = read(secret_id, region, endpoint)
    new_id = str(max(int(i) for i in ring.values) + 1)
    values = {**ring.values, new_id: new_value or random.token_urlsafe(48)}
    body = json.dumps({"current": new_id, **values})
    _client(region, endpoint).put_secret_value(SecretId=secret_id, SecretString=body)
    return Keyring(current=new_id, values=values)


def database_url(secret_id: str, host: str, region: str, endpoint: str = "") -> str:
    """postgres://user:password@host:5432/vault from the database secret and the host."""
    from urllib.parse import quote

    import botocore.exceptions

    try:
        raw = json.loads(_client(region, endpoint).get_secret_value(SecretId=secret_id)["SecretString"])
        user, password = raw["username"], raw["password"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, ValueError, KeyError):
        raise ImproperlyConfigured(f"secret {secret_id} could not be read as a database login") from None
    return f"postgres://{quote(user, safe='')}:{quote(password, safe='')}@{host}:5432/vault"


def load(
    env: Mapping[str, str], region: str, endpoint: str, dev_defaults: Mapping[str, str]
) -> dict[str, Keyring]:
    """The keyring of each secret setting, as settings.py loads them at start-up.

    With VAULT_SECRETS_PREFIX (Lambda): one read of each secret. Without it, the
    environment variables (locally, tests); on Lambda that is refused, so a
    secret never sits in a function's configuration.
    """
    prefix = env.get("VAULT_SECRETS_PREFIX", "")
    on_lambda = bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))
    if prefix:
        found = [name for name in (*NAMES, "DATABASE_URL") if env.get(name)]
        if found:
            raise ImproperlyConfigured(
                f"{', '.join(found)} must come from Secrets Manager, not the environment"
            )
        return {setting: read(prefix + name, region, endpoint) for setting, name in NAMES.items()}
    if on_lambda:
        raise ImproperlyConfigured("on Lambda, set VAULT_SECRETS_PREFIX: secrets come from Secrets Manager")
    rings = {}
    for setting in NAMES:
        value = env.get(setting) or dev_defaults.get(setting)
        if not value:
            raise ImproperlyConfigured(
                f"{setting} is not set: run `make run` in another shell, or export it (see README)"
            )
        rings[setting] = from_env(value)
    return rings


class Keyrings:
    """The loaded keyrings, re-read from Secrets Manager when asked for an unknown id."""

    def __init__(self, rings: dict[str, Keyring], prefix: str, region: str, endpoint: str) -> None:
        self.rings = rings
        self.prefix, self.region, self.endpoint = prefix, region, endpoint
        self._read_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def current(self, setting: str) -> tuple[str, str]:
        ring = self.rings[setting]
        return ring.current, ring.value

    def value(self, setting: str, key_id: str) -> str | None:
        """The value with this id, or None if there is none (after one re-read at most)."""
        ring = self.rings[setting]
        if key_id in ring.values:
            return ring.values[key_id]
        if not self.prefix:
            return None
        with self._lock:
            if time.monotonic() - self._read_at.get(setting, -REFRESH_EVERY) < REFRESH_EVERY:
                return None
            self._read_at[setting] = time.monotonic()
            try:
                self.rings[setting] = read(self.prefix + NAMES[setting], self.region, self.endpoint)
            except ImproperlyConfigured:
                return None
        return self.rings[setting].values.get(key_id)
