"""Reading the audit log, for people: who may, and a record that they did.

The record of a read is written before the read (so a log that cannot be
written cannot be read quietly either).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tokens import audit, validation
from tokens.actors import RequestContext
from tokens.errors import PermissionDenied
from tokens.operators import actor_for, holds

CSV_LIMIT = 20000
PAGE_LIMIT = 500
# What an actor filter may be: a username, a client name without spaces, or an
# id such as user:3 or client:7. Never 12 or more digits (in a row or split by
# dashes and dots): that is a card number typed in the wrong box, and the filter
# is itself written to the audit log.
ACTOR_SHAPE = re.compile(r"^[A-Za-z0-9_.@+:-]{1,150}$")
MAX_ACTOR_DIGITS = 11
ACTION_SHAPE = re.compile(r"^[a-z_]{1,40}$")
UNSHOWN = "(not shown)"


def is_actor_filter(value: str) -> bool:
    return ACTOR_SHAPE.fullmatch(value) is not None and sum(c.isdigit() for c in value) <= MAX_ACTOR_DIGITS


def _shown(key: str, value: str) -> str:
    """A filter value as the audit record may hold it: only the strict shapes."""
    if key == "actor":
        return value if is_actor_filter(value) else UNSHOWN
    if key == "token_id":
        return value if validation.is_token_id(value) else UNSHOWN
    if key in ("action", "outcome"):
        return value if ACTION_SHAPE.fullmatch(value) else UNSHOWN
    return UNSHOWN


def _check(by: Any, action: str, ctx: RequestContext, detail: str) -> None:
    actor = actor_for(by)
    if not holds(by, "tokens.view_audit"):
        audit.record(action, "denied", actor, ctx, detail=detail)
        raise PermissionDenied("Only an auditor may read the audit log.")
    audit.record(action, "success", actor, ctx, detail=detail)


def _describe(start: datetime, end: datetime, filters: dict[str, str]) -> str:
    given = " ".join(f"{k}={_shown(k, v)}" for k, v in sorted(filters.items()) if v)
    return f"{start.date()}..{end.date()} {given}".strip()[:500]


def search(
    by: Any, ctx: RequestContext, start: datetime, end: datetime, **filters: str
) -> list[dict[str, Any]]:
    _check(by, "audit_search", ctx, _describe(start, end, filters))
    return audit.search(start, end, limit=PAGE_LIMIT, **filters)


def export(
    by: Any, ctx: RequestContext, start: datetime, end: datetime, **filters: str
) -> list[dict[str, Any]]:
    _check(by, "audit_export", ctx, _describe(start, end, filters))
    return audit.search(start, end, limit=CSV_LIMIT, **filters)


def verify(by: Any, ctx: RequestContext) -> audit.Verification:
    _check(by, "audit_verify", ctx, "")
    return audit.verify()
