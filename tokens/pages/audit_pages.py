"""The audit log for auditors: search, CSV export, chain verification."""

from __future__ import annotations

import csv
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import audit_access
from tokens.errors import InvalidInput, VaultError
from tokens.pages.common import ctx, has, operator_page
from tokens.pages.errors import vault_error
from tokens.pages.forms import AuditFilter

COLUMNS = (
    "at", "actor", "actor_type", "actor_id", "action", "outcome", "token_id", "fields", "reason",
    "detail", "channel", "source_ip", "user_agent", "request_id", "region", "chain", "seq",
)  # fmt: skip
# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@operator_page(has("tokens.view_audit"), methods=("GET",))
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    page: dict[str, Any] = {"form": form, "limit": audit_access.PAGE_LIMIT}
    if request.GET and not form.is_valid():
        return render(request, "tokens/audit.html", page, status=400)
    if not request.GET:
        form = AuditFilter({})
        form.is_valid()
    try:
        start, end = form.window()
        page["records"] = audit_access.search(request.user, ctx(request), start, end, **form.filters())
    except InvalidInput as exc:
        page["error"] = exc.message
        return render(request, "tokens/audit.html", page, status=400)
    except VaultError as exc:
        return vault_error(request, exc)
    page["query"] = request.GET.urlencode()
    page["start"], page["end"] = start.date(), end.date()
    return render(request, "tokens/audit.html", page)


@operator_page(has("tokens.view_audit"), methods=("GET",))
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    if not form.is_valid():
        return render(request, "tokens/audit.html", {"form": form}, status=400)
    try:
        start, end = form.window()
        records = audit_access.export(request.user, ctx(request), start, end, **form.filters())
    except VaultError as exc:
        return vault_error(request, exc)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{start.date()}-{end.date()}.csv"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_cell(record.get(column, "")) for column in COLUMNS])
    return response


def _cell(value: object) -> str:
    text = ";".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@operator_page(has("tokens.view_audit"), methods=("GET",))
def audit_verify(request: HttpRequest) -> HttpResponse:
    try:
        result = audit_access.verify(request.user, ctx(request))
    except VaultError as exc:
        return vault_error(request, exc)
    return render(request, "tokens/audit_verify.html", {"result": result})
