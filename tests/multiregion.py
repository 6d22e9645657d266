"""Two region configurations in one moto account: Sydney (home) and Singapore."""

from __future__ import annotations

from copy import copy
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.kms.models import kms_backends

from tokens import audit, aws, crypto

SYD, SIN = "ap-southeast-2", "ap-southeast-1"


def use_region(settings: Any, region: str, key: str) -> None:
    settings.AWS_REGION = region
    settings.VAULT_REGION_CODE = settings.REGION_CODES[region]
    settings.VAULT_KMS_KEY = key
    aws.reset_clients()
    crypto.reset()
    audit.reset_writer()


def replicate_key_material(key_id: str, source: str, target: str) -> str:
    """What ReplicateKey does for a multi-Region key: the same key id and key
    material in the other region. moto cannot decrypt under `mrk-` ids, so an
    ordinary key stands in, copied into the other region's backend."""
    original = kms_backends[DEFAULT_ACCOUNT_ID][source].keys[key_id]
    replica = copy(original)
    replica.region = target
    replica.arn = original.arn.replace(f":{source}:", f":{target}:")
    kms_backends[DEFAULT_ACCOUNT_ID][target].keys[key_id] = replica
    return str(replica.arn)


def replicate_items(table: str, source: str, target: str) -> int:
    """What a global table does, eventually: copy every item to the other region."""
    items = aws.client("dynamodb", source).scan(TableName=table)["Items"]
    for item in items:
        aws.client("dynamodb", target).put_item(TableName=table, Item=item)
    return len(items)
