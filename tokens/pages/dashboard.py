"""The first page: what this operator may do, and what they did lately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import admin_ops, audit, roles
from tokens.errors import VaultError
from tokens.models import RoleRequest
from tokens.operators import holds
from tokens.pages.common import actor, operator_page, signed_in

RECENT_DAYS = 7
RECENT_LIMIT = 15


@operator_page(signed_in, methods=("GET",))
def dashboard(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    names = set(admin_ops.roles_of(request.user))
    held = [role for role in roles.ROLES.values() if role.name in names]
    now = datetime.now(UTC)
    try:
        # One's own trail is not the audit log (that needs the auditor role), so no read record.
        recent = audit.search(now - timedelta(days=RECENT_DAYS), now, actor=me.id, limit=RECENT_LIMIT)
        unavailable = False
    except VaultError:
        recent, unavailable = [], True
    waiting = None
    if holds(request.user, "tokens.manage_operators"):
        waiting = list(RoleRequest.open().select_related("target", "requested_by"))
    page = {
        "roles": held, "recent": recent, "recent_unavailable": unavailable, "recent_days": RECENT_DAYS,
        "role_ends": admin_ops.role_ends(request.user), "waiting": waiting,
    }  # fmt: skip
    return render(request, "tokens/dashboard.html", page)
