"""Item encryption with the DynamoDB Encryption Client and AWS KMS.

Every item gets its own data key (one GenerateDataKey per write, one Decrypt
per read). Data fields are encrypted and signed; tokenId, createdAt and TTL stay
plaintext but signed, so DynamoDB's TTL can delete the item while any change to
the expiry, or a tokenId swapped between items, fails verification.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from django.conf import settings
from dynamodb_encryption_sdk.encrypted import CryptoConfig
from dynamodb_encryption_sdk.encrypted.item import decrypt_dynamodb_item, encrypt_dynamodb_item
from dynamodb_encryption_sdk.exceptions import DynamodbEncryptionSdkError
from dynamodb_encryption_sdk.identifiers import CryptoAction
from dynamodb_encryption_sdk.material_providers.aws_kms import AwsKmsCryptographicMaterialsProvider
from dynamodb_encryption_sdk.structures import AttributeActions, EncryptionContext

from tokens import aws
from tokens.errors import IntegrityFailure
from tokens.layout import PARTITION_KEY, SIGNED_PLAINTEXT
from tokens.layout import RESERVED as RESERVED  # re-exported: the vault reads these here
from tokens.layout import SDK_ATTRIBUTES as SDK_ATTRIBUTES

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


def reset() -> None:
    _provider.cache_clear()


def _config(table: str, token_id: str) -> CryptoConfig:
    # The table info is given here, so the SDK never calls DescribeTable.
    context = EncryptionContext(
        table_name=table,
        partition_key_name=PARTITION_KEY,
        attributes={PARTITION_KEY: {"S": token_id}},
    )
    provider = _provider(settings.VAULT_KMS_KEY, settings.AWS_REGION, aws.client("kms"))
    return CryptoConfig(materials_provider=provider, encryption_context=context, attribute_actions=ACTIONS)


def _dependency_error(exc: BaseException) -> BaseException | None:
    """The AWS error behind an SDK error, if the SDK failed because KMS did."""
    seen: BaseException | None = exc
    while seen is not None:
        if aws.is_unavailable(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def seal(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
    """Encrypt and sign a DynamoDB-JSON item (calls KMS GenerateDataKey once)."""
    table = table or settings.VAULT_TABLE
    try:
        return encrypt_dynamodb_item(item, _config(table, item[PARTITION_KEY]["S"]))
    except DynamodbEncryptionSdkError as exc:
        if _dependency_error(exc) is not None:
            raise aws.unavailable("KMS") from None
        raise


def open_item(item: dict[str, Any], table: str | None = None) -> dict[str, Any]:
    """Verify and decrypt a raw item (calls KMS Decrypt once).

    Raises IntegrityFailure when the item does not verify, Unavailable when
    KMS could not be reached. Messages never include item contents.
    """
    table = table or settings.VAULT_TABLE
    try:
        # The SDK pops its attributes from the item it is given: hand it a copy.
        return decrypt_dynamodb_item(dict(item), _config(table, item[PARTITION_KEY]["S"]))
    except DynamodbEncryptionSdkError as exc:
        if _dependency_error(exc) is not None:
            raise aws.unavailable("KMS") from None
        raise IntegrityFailure(internal=f"item failed verification: {type(exc).__name__}") from None
    except Exception as exc:  # malformed ciphertext can surface as anything
        if aws.is_unavailable(exc):
            raise aws.unavailable("KMS") from None
        raise IntegrityFailure(internal=f"item failed verification: {type(exc).__name__}") from None


def ping() -> None:
    """Raise Unavailable unless the KMS key answers."""
    try:
        aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)
    except Exception:
        raise aws.unavailable("KMS") from None
