"""The key store: versioned wrapping and signing keys, one material per region.

The encryption SDK's MetaStore keeps each version of a material (an AES-256
wrapping key and an HMAC-SHA256 signing key) as one item of VAULT_KEYS_TABLE,
itself encrypted and signed under the region's KMS key. A
CachingMostRecentProvider per material holds the versions a process has loaded
for VAULT_KEY_CACHE_SECONDS, so KMS is called when a version is first loaded
or its cache period ends, not per item. Every item still gets its own content
key, wrapped by the version's wrapping key.

Each region writes versions of its own material only (`vault-SYD`,
`vault-SIN`): conditional writes in a global table hold inside one region, so
two regions adding "version 1" of one shared name at once could each wrap
items under a key the other region's write then replaced. An item records the
material and version it was sealed with; any region reads it from there.

Versions are created by `vault_bootstrap` (version 0) and `rotate_keys`, never
on the request path: there, a missing version is a clear 503.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import botocore.exceptions
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from django.conf import settings
from dynamodb_encryption_sdk.delegated_keys.jce import JceNameLocalDelegatedKey
from dynamodb_encryption_sdk.encrypted.table import EncryptedTable
from dynamodb_encryption_sdk.exceptions import NoKnownVersionError
from dynamodb_encryption_sdk.material_providers import CryptographicMaterialsProvider
from dynamodb_encryption_sdk.material_providers.most_recent import CachingMostRecentProvider
from dynamodb_encryption_sdk.material_providers.store.meta import (
    MetaStore,
    MetaStoreAttributeNames,
    MetaStoreValues,
)
from dynamodb_encryption_sdk.structures import TableIndex, TableInfo

from tokens import aws

# Where the SDK records "<material name>#<version>" in an item's material description.
META_ID = "amzn-ddb-meta-id"
PREFIX = "vault-"
NAME = MetaStoreAttributeNames.PARTITION.value  # "N"
VERSION = MetaStoreAttributeNames.SORT.value  # "V"
KEY_SCHEMA = {
    "AttributeDefinitions": [
        {"AttributeName": NAME, "AttributeType": "S"},
        {"AttributeName": VERSION, "AttributeType": "N"},
    ],
    "KeySchema": [
        {"AttributeName": NAME, "KeyType": "HASH"},
        {"AttributeName": VERSION, "KeyType": "RANGE"},
    ],
}


class VersionExists(Exception):
    """Another writer added this version first."""


def material_name(code: str | None = None) -> str:
    """This region's material (or the one of region `code`)."""
    return PREFIX + (code or settings.VAULT_REGION_CODE)


def known_names() -> frozenset[str]:
    codes = set(settings.REGION_CODES.values()) | {settings.VAULT_REGION_CODE}
    return frozenset(material_name(code) for code in codes)


def parse_meta_id(meta_id: str) -> tuple[str, int]:
    """(name, version) from "vault-SYD#3"; ValueError for anything else.

    The material description is read before the item's signature can be
    checked, so only the known regions' names are accepted.
    """
    match = re.fullmatch(r"(vault-[A-Z]{1,16})#(0|[1-9][0-9]{0,8})", meta_id)
    if match is None or match.group(1) not in known_names():
        raise ValueError("not one of the vault's key materials")
    return match.group(1), int(match.group(2))


class Store(MetaStore):
    """The SDK's MetaStore, with three changes for the vault.

    - Its table's key schema is given, so building it calls no DescribeTable.
    - `max_version` reads only the version numbers (no decryption, no KMS call).
    - It never creates a version when asked for one: `add_version` does, and
      fails loudly where the SDK's save would swallow a non-conditional error.
    """

    def __attrs_post_init__(self) -> None:
        info = TableInfo(name=self._table.name, primary_index=TableIndex(partition=NAME, sort=VERSION))
        self._encrypted_table = EncryptedTable(
            table=self._table,
            materials_provider=self._materials_provider,
            table_info=info,
            auto_refresh_table_indexes=False,
        )

    def max_version(self, material_name: str) -> int:
        response = self._table.query(
            KeyConditionExpression=Key(NAME).eq(material_name),
            ProjectionExpression="#v",
            ExpressionAttributeNames={"#v": VERSION},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        if not response["Items"]:
            raise NoKnownVersionError(f'No known version for name: "{material_name}"')
        return int(response["Items"][0][VERSION])

    def get_or_create_provider(self, material_name: str, version: int) -> CryptographicMaterialsProvider:
        # Load only: raises InvalidVersionError when the version does not exist.
        return self._load_provider_from_table(material_name, version)

    def add_version(self, material_name: str, version: int) -> int:
        encryption_key = JceNameLocalDelegatedKey.generate(
            MetaStoreValues.ENCRYPTION_ALGORITHM.value, MetaStoreValues.KEY_BITS.value
        )
        signing_key = JceNameLocalDelegatedKey.generate(
            MetaStoreValues.INTEGRITY_ALGORITHM.value, MetaStoreValues.KEY_BITS.value
        )
        names = MetaStoreAttributeNames
        item = {
            names.PARTITION.value: material_name,
            names.SORT.value: version,
            names.MATERIAL_TYPE_VERSION.value: MetaStoreValues.MATERIAL_TYPE_VERSION.value,
            names.ENCRYPTION_ALGORITHM.value: encryption_key.algorithm,
            names.ENCRYPTION_KEY.value: Binary(encryption_key.key),
            names.INTEGRITY_ALGORITHM.value: signing_key.algorithm,
            names.INTEGRITY_KEY.value: Binary(signing_key.key),
        }
        try:
            self._encrypted_table.put_item(
                Item=item, ConditionExpression=Attr(NAME).not_exists() & Attr(VERSION).not_exists()
            )
        except botocore.exceptions.ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise VersionExists(f"{material_name} version {version} already exists") from None
            raise
        return version


_lock = threading.Lock()
_stores: dict[tuple[str, ...], Store] = {}
_providers: dict[tuple[Any, ...], CachingMostRecentProvider] = {}


def store(region: str | None = None, key_id: str | None = None) -> Store:
    """The key store of `region` (default: this one), its items under `key_id`."""
    from tokens import crypto

    region = region or settings.AWS_REGION
    key_id = key_id or settings.VAULT_KMS_KEY
    cache_key = (region, key_id, settings.VAULT_KEYS_TABLE)
    with _lock:
        found = _stores.get(cache_key)
        if found is None:
            kms = crypto.kms_provider(key_id, region)
            found = _stores[cache_key] = Store(aws.table_resource(settings.VAULT_KEYS_TABLE, region), kms)
        return found


def provider(name: str) -> CachingMostRecentProvider:
    """The caching provider of one material, built once per process."""
    ttl = float(settings.VAULT_KEY_CACHE_SECONDS)
    cache_key = (name, settings.AWS_REGION, settings.VAULT_KMS_KEY, settings.VAULT_KEYS_TABLE, ttl)
    found = _providers.get(cache_key)
    if found is None:
        built = CachingMostRecentProvider(provider_store=store(), material_name=name, version_ttl=ttl)
        with _lock:
            found = _providers.setdefault(cache_key, built)
    return found


def current_version(name: str | None = None) -> int | None:
    """The newest version of a material in the table (None if it has none)."""
    try:
        return int(store().max_version(name or material_name()))
    except NoKnownVersionError:
        return None


def ensure_first_version(
    region: str | None = None, code: str | None = None, key_id: str | None = None
) -> str:
    """Version 0 of a region's material, unless it has one (vault_bootstrap)."""
    name = material_name(code)
    keys = store(region, key_id)
    try:
        return f"key material {name}: found (version {keys.max_version(name)})"
    except NoKnownVersionError:
        pass
    try:
        keys.add_version(name, 0)
    except VersionExists:
        return f"key material {name}: found (version 0)"
    return f"key material {name}: version 0 created"


def reset() -> None:
    """Forget loaded versions and built stores (tests; a region switch)."""
    with _lock:
        _stores.clear()
        _providers.clear()
