"""Attribute names of a vault item that are not the caller's fields.

Kept apart from tokens.crypto so that validation (and the log filter, through
it) need not load the encryption SDK: a process answering /healthz never does.
"""

from __future__ import annotations

PARTITION_KEY = "tokenId"
# Plaintext but signed: DynamoDB's TTL can expire the item, and any change to these fails verification.
# "*vault-index*" names the token's rows in the fingerprint table (tokens/index.py).
SIGNED_PLAINTEXT = ("tokenId", "TTL", "createdAt", "*vault-index*")
# Written by the DynamoDB Encryption Client: the material description and the item's signature.
SDK_ATTRIBUTES = ("*amzn-ddb-map-desc*", "*amzn-ddb-map-sig*")
RESERVED = frozenset(SIGNED_PLAINTEXT + SDK_ATTRIBUTES)
