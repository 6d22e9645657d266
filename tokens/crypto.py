"""Item encryption with the DynamoDB Encryption Client.

Every item gets its own random content key. By default (VAULT_KEY_MODE=cached)
that key is wrapped by the current version of this region's material from the
key store (tokens.keystore), so KMS is called only when a process loads a
version; with VAULT_KEY_MODE=kms-per-item it comes from KMS itself (one
GenerateDataKey per write, one Decrypt per read). Reads follow the item, not
the mode: an item's material description says which material and version
sealed it, or that KMS did, so items of either kind, and of either region,
read everywhere.

Data fields are encrypted and signed; tokenId, createdAt and TTL stay plaintext
but signed, so DynamoDB's TTL can delete the item while any change to the
expiry, or a tokenId swapped between items, fails verification.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import botocore.exceptions
import botocore.session
from django.conf import settings
from dynamodb_encryption_sdk.encrypted import CryptoConfig
from dynamodb_encryption_sdk.encrypted.item import decrypt_dynamodb_item, encrypt_dynamodb_item
from dynamodb_encryption_sdk.identifiers import CryptoAction
from dynamodb_encryption_sdk.internal.formatting.material_description import (
    deserialize as deserialize_material_description,
)
from dynamodb_encryption_sdk.material_providers import CryptographicMaterialsProvider
from dynamodb_encryption_sdk.material_providers.aws_kms import AwsKmsCryptographicMaterialsProvider
from dynamodb_encryption_sdk.materials import CryptographicMaterials
from dynamodb_encryption_sdk.structures import AttributeActions, EncryptionContext

from tokens import aws, keystore
from tokens.errors import IntegrityFailure, Unavailable
from tokens.layout import PARTITION_KEY, SIGNED_PLAINTEXT
from tokens.layout import RESERVED as RESERVED  # re-exported: the vault reads these here
from tokens.layout import SDK_ATTRIBUTES as SDK_ATTRIBUTES

log = logging.getLogger(__name__)

MATERIAL_DESCRIPTION = SDK_ATTRIBUTES[0]
# What `sealed_with` says of an item whose content key KMS made (the seed's way).
PER_ITEM_KMS = "kms"

ACTIONS = AttributeActions(
    default_action=CryptoAction.ENCRYPT_AND_SIGN,
    attribute_actions={name: CryptoAction.SIGN_ONLY for name in SIGNED_PLAINTEXT},
)


@functools.lru_cache(maxsize=8)
def _provider(key_id: str, region: str, kms: Any) -> AwsKmsCryptographicMaterialsProvider:
    # Keyed by the client too: when clients are rebuilt, so is the provider.
    session = botocore.session.Session()
    session.set_config_variable("region", region)
    return AwsKmsCryptographicMaterialsProvider(
        key_id=key_id, botocore_session=session, regional_clients={region: kms}
    )


def kms_provider(
    key_id: str | None = None, region: str | None = None
) -> AwsKmsCryptographicMaterialsProvider:
    """Per-item KMS materials under this region's key, through the vault's own KMS client."""
    region = region or settings.AWS_REGION
    return _provider(key_id or settings.VAULT_KMS_KEY, region, aws.client("kms", region))


class MissingVersion(Exception):
    """The key store has no version of this region's material."""


class _Materials(CryptographicMaterialsProvider):
    """Seals as VAULT_KEY_MODE says; opens as each item's material description says."""

    def encryption_materials(self, encryption_context: EncryptionContext) -> CryptographicMaterials:
        if settings.VAULT_KEY_MODE == "kms-per-item":
            return kms_provider().encryption_materials(encryption_context)
        try:
            return keystore.provider(keystore.material_name()).encryption_materials(encryption_context)
        except AttributeError:  # how CachingMostRecentProvider says "no such version"
            raise MissingVersion from None

    def decryption_materials(self, encryption_context: EncryptionContext) -> CryptographicMaterials:
        meta_id = encryption_context.material_description.get(keystore.META_ID)
        if meta_id is None:
            return kms_provider().decryption_materials(encryption_context)
        # CachingMostRecentProvider decrypts with its own material name and the
        # item's version, so pick the provider of the name the item records.
        name, _ = keystore.parse_meta_id(meta_id)
        return keystore.provider(name).decryption_materials(encryption_context)

    def refresh(self) -> None:
        reset()


_MATERIALS = _Materials()


def reset() -> None:
    """Forget providers and loaded key versions (tests; a fresh process)."""
    _provider.cache_clear()
    keystore.reset()


def _config(table: str, token_id: str) -> CryptoConfig:
    # The table info is given here, so the SDK never calls DescribeTable.
    context = EncryptionContext(
        table_name=table,
        partition_key_name=PARTITION_KEY,
        attributes={PARTITION_KEY: {"S": token_id}},
    )
    return CryptoConfig(materials_provider=_MATERIALS, encryption_context=context, attribute_actions=ACTIONS)


def _aws_error(exc: BaseException) -> BaseException | None:
    """The AWS error behind an SDK error, if any (the SDK wraps some, not all)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _service(exc: BaseException) -> str:
    """Which dependency failed: KMS, or DynamoDB (the key store's table)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return "DynamoDB" if exc.operation_name in ("GetItem", "Query", "PutItem") else "KMS"
    return "DynamoDB" if "dynamodb" in str(exc).lower() else "KMS"


def seal(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
    """Encrypt and sign a DynamoDB-JSON item.

    Raises Unavailable when KMS or the key store fails, whatever the failure.
    """
    table = table or settings.VAULT_TABLE
    try:
        return encrypt_dynamodb_item(item, _config(table, item[PARTITION_KEY]["S"]))
    except MissingVersion:
        log.error(
            "no version of %s in %s: run vault_bootstrap", keystore.material_name(), settings.VAULT_KEYS_TABLE
        )
        raise Unavailable(internal="no key version") from None
    except Exception as exc:
        cause = _aws_error(exc)
        if cause is None:
            raise
        log.warning("sealing failed: %s %s", _service(cause), type(cause).__name__)
        raise aws.unavailable(_service(cause)) from None


def open_item(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
    """Verify and decrypt a raw item.

    Raises IntegrityFailure when the item does not verify, Unavailable when
    KMS or the key store could not be reached. Messages never include item contents.
    """
    table = table or settings.VAULT_TABLE
    try:
        # The SDK pops its attributes from the item it is given: hand it a copy.
        return decrypt_dynamodb_item(dict(item), _config(table, item[PARTITION_KEY]["S"]))
    except Exception as exc:  # malformed ciphertext can surface as anything
        cause = _aws_error(exc)
        if cause is not None and (aws.is_unavailable(cause) or _service(cause) == "DynamoDB"):
            raise aws.unavailable(_service(cause)) from None
        raise IntegrityFailure(internal=f"item failed verification: {type(exc).__name__}") from None


def sealed_with(item: dict[str, Any]) -> str:
    """ "vault-SYD#3" for an item sealed under a key-store version, "kms" for per-item KMS.

    Read from the unverified material description: for choosing what to do
    (re-keying), never for trusting the item.
    """
    try:
        description = deserialize_material_description(item[MATERIAL_DESCRIPTION])
    except Exception:
        raise IntegrityFailure(internal="unreadable material description") from None
    return str(description.get(keystore.META_ID, PER_ITEM_KMS))


def reseal(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
    """The same item sealed again under the current materials (verified first)."""
    plain = open_item(item, table)
    return seal({k: v for k, v in plain.items() if k not in SDK_ATTRIBUTES}, table)


def ping() -> None:
    """Raise Unavailable unless the KMS key answers."""
    try:
        aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)
    except Exception:
        raise aws.unavailable("KMS") from None
