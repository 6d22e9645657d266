"""Reading the audit log, for people: who may, and a record that they did.

The record of a read is written before the read (so a log that cannot be
written cannot be read quietly either).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tokens import audit
from tokens.actors import RequestContext
from tokens.errors import PermissionDenied
from tokens.operators import actor_for, holds

CSV_LIMIT = 20000
PAGE_LIMIT = 500


def _check(by: Any, action: str, ctx: RequestContext, detail: str) -> None:
    actor = actor_for(by)
    if not holds(by, "tokens.view_audit"):
        audit.record(action, "denied", actor, ctx, detail=detail)
        raise PermissionDenied("Only an auditor may read the audit log.")
    audit.record(action, "success", actor, ctx, detail=detail)


def _describe(start: datetime, end: datetime, filters: dict[str, str]) -> str:
    given = " ".join(f"{k}={v}" for k, v in sorted(filters.items()) if v)
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
