"""Keyed fingerprints of normalized values, for search and deduplication
without decrypting anything.

A fingerprint is HMAC-SHA256 under the fingerprint key, over the field name and
the value's normalized form (tokens/fieldtypes.py), so equal values of one
field match and the same value in two fields does not. The key is the signing
key of the key store's `fingerprint` material: one material for both regions
(every region must compute the same fingerprint), versioned, and, like every
version in the key store, encrypted under the region's KMS key. Version 0 is
made by `vault_bootstrap` in the first region bootstrapped; the other region
finds it replicated.

Whoever holds the fingerprint table but not the key learns only which tokens
share a value; a low-entropy value (a CVC) could be guessed by someone holding
the key, which is why the key never leaves the key store and processes.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from dynamodb_encryption_sdk.exceptions import NoKnownVersionError
from dynamodb_encryption_sdk.structures import EncryptionContext

from tokens import aws, fieldtypes, keystore

MATERIAL = "fingerprint"
ALGORITHM = "HmacSHA256"

_lock = threading.Lock()
_keys: dict[tuple[str, int], bytes] = {}
_newest: dict[str, tuple[float, int]] = {}


def signing_key(version: int) -> Any:
    """The key store's signing key of the fingerprint material's `version` (the SDK's)."""
    try:
        provider = keystore.store().get_or_create_provider(MATERIAL, version)
        return provider.encryption_materials(EncryptionContext()).signing_key
    except Exception as exc:
        if aws.caused_by_aws(exc):
            raise aws.unavailable("KMS") from None
        raise


def _key_bytes(version: int) -> bytes:
    """The raw HMAC key of `version`, loaded once per process.

    The SDK's own `sign` builds a new HMAC object through its algorithm table
    on every call, several times the cost of the MAC itself; a tokenize makes
    one per field and one per record, so the MAC is taken with hmac.digest over
    the same key bytes (equal results, tested).
    """
    cache_key = (settings.AWS_REGION, version)
    with _lock:
        found = _keys.get(cache_key)
    if found is None:
        key = signing_key(version)
        if key.algorithm != ALGORITHM:
            raise ValueError(f"the fingerprint key is {key.algorithm}, not {ALGORITHM}")
        found = bytes(key.key)
        with _lock:
            _keys[cache_key] = found
    return found


def newest_version() -> int:
    """The fingerprint key's newest version, re-read every VAULT_KEY_CACHE_SECONDS."""
    cached = _newest.get(settings.AWS_REGION)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    try:
        version = int(keystore.store().max_version(MATERIAL))
    except NoKnownVersionError:
        raise aws.unavailable("the key store (no fingerprint key: run vault_bootstrap)") from None
    _newest[settings.AWS_REGION] = (time.monotonic() + settings.VAULT_KEY_CACHE_SECONDS, version)
    return version


def versions() -> range:
    """Every version that may have fingerprinted a live token, oldest first."""
    return range(newest_version() + 1)


def _mac(version: int, message: str) -> str:
    digest = hmac.digest(_key_bytes(version), message.encode("utf-8"), "sha256")
    return digest.hex()[:40]  # 160 bits: collisions stay out of reach


Normalize = Callable[[str, str], str]


def of_field(field: str, value: str, version: int, normalize: Normalize = fieldtypes.normalize) -> str:
    """The fingerprint of one field's value; raises TypeMismatch for an invalid value.

    `normalize` is fieldtypes.shaped only for honeytokens (their values fail their type's checks).
    """
    return f"f{version}:{_mac(version, field + chr(0) + normalize(field, value))}"


def of_record(fields: Mapping[str, str], version: int, normalize: Normalize = fieldtypes.normalize) -> str:
    """The fingerprint of a whole record: the same field names with equal values."""
    parts = [name + chr(0) + normalize(name, fields[name]) for name in sorted(fields)]
    return f"r{version}:{_mac(version, chr(1).join(parts))}"


def ensure_key() -> str:
    """Version 0 of the fingerprint key, unless the key store has one (vault_bootstrap);
    then load the newest version, so this process starts with it."""
    reset()
    keys = keystore.store()
    try:
        found = f"fingerprint key: found (version {keys.max_version(MATERIAL)})"
    except NoKnownVersionError:
        try:
            keys.add_version(MATERIAL, 0)
            found = "fingerprint key: version 0 created"
        except keystore.VersionExists:
            found = "fingerprint key: found (version 0)"
    _key_bytes(newest_version())
    return found


def reset() -> None:
    with _lock:
        _keys.clear()
        _newest.clear()
