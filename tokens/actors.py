"""Who is asking, and from where: passed by every way in to the vault functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

# What a caller may do with vault data. API client scopes use these names, and
# operator roles map onto them.
PERMISSIONS = ("tokenize", "detokenize", "metadata", "ttl", "delete")


@dataclass(frozen=True)
class Actor:
    kind: str  # "api_client", "operator", "lambda" or "system"
    id: str
    name: str
    permissions: frozenset[str] = frozenset()
    # Field names this actor may detokenize; None means all fields.
    allowed_fields: frozenset[str] | None = None
    # Field names this actor only ever receives masked; "*" means every field.
    masked_fields: frozenset[str] = frozenset()

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    def must_mask(self, field: str) -> bool:
        return field in self.masked_fields or "*" in self.masked_fields


@dataclass(frozen=True)
class RequestContext:
    channel: str = "api"  # "api", "ui", "lambda" or "cli"
    source_ip: str = ""
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    reason: str = ""
