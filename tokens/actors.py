"""Who is asking, and from where: passed by every way in to the vault functions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

# What a caller may do with vault data. API client scopes use these names, and
# operator roles map onto them.
PERMISSIONS = ("tokenize", "detokenize", "metadata", "ttl", "delete", "search")


# An actor's id: its kind's prefix and a number or name (user:3, client:7,
# lambda:fn, system:cli). Names never have this shape (see admin_ops), so a
# name cannot pose as someone else's id.
ACTOR_ID = re.compile(r"^(user|client|lambda|system):[A-Za-z0-9_.-]+$")


def is_actor_id(value: str) -> bool:
    return ACTOR_ID.match(value) is not None


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
    # Requests a minute this API client may make per process; None: VAULT_API_RATE_LIMIT.
    rate_limit: int | None = None

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


# Whoever is not signed in and presented no valid key.
ANONYMOUS = Actor(kind="anonymous", id="", name="(unauthenticated)")


def context_of(request: HttpRequest, channel: str = "api", reason: str = "") -> RequestContext:
    """Where a request comes from, as audit records tell it (never its path or body)."""
    return RequestContext(
        channel=channel,
        source_ip=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:128] or uuid.uuid4().hex,
        reason=reason,
    )
