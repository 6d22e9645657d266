"""Pages for vault data: tokenize, look up, reveal, expiry. Each parses the
form, calls one function of the vault, and renders."""

from __future__ import annotations

import io
import json
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import csv_batches, fieldtypes, idempotency, validation, vault
from tokens import reveal as operator_reveal
from tokens.errors import Conflict, InvalidInput, NotFound, VaultError
from tokens.pages import forms, purges
from tokens.pages.auth import last_authenticated_at, reauthentication_for
from tokens.pages.common import actor, ctx, has, may, operator_page
from tokens.pages.errors import vault_error
from tokens.pages.wording import plain

# Errors shown inside the form (the operator can fix them); others get an error page.
FORM_ERRORS = (InvalidInput, NotFound)


@operator_page(has("tokens.tokenize"))
def tokenize(request: HttpRequest) -> HttpResponse:
    default_days, max_days = forms.retention_days()
    # A fresh idempotency key per form shown: a double submit (or a resend after a
    # timeout) makes one token and shows it again.
    page = {
        "rows": forms.TokenizeRows(),
        "default_days": default_days,
        "max_days": max_days,
        "once": uuid.uuid4().hex,
        "max_fields": validation.MAX_FIELDS,
        "max_value_bytes": validation.MAX_VALUE_BYTES,
    }
    if request.method == "POST" and "csv" in request.FILES:
        return _tokenize_csv(request, page)
    if request.method == "POST":
        try:
            rows = forms.tokenize_rows(request.POST)
            info = _tokenize_once(request, rows.data)
        except FORM_ERRORS as exc:
            cleared = any(request.POST.getlist("value"))
            page.update(rows=forms.names_only(request.POST), error=plain(exc.message), cleared=cleared)
            return render(request, "tokens/tokenize.html", page, status=400)
        except VaultError as exc:
            return vault_error(request, exc)
        return render(request, "tokens/tokenized.html", {"info": info})
    return render(request, "tokens/tokenize.html", page)


def _tokenize_csv(request: HttpRequest, page: dict[str, object]) -> HttpResponse:
    """Every row of the uploaded CSV through vault.tokenize_batch; a CSV of token ids back."""
    upload = request.FILES.get("csv")
    out = io.StringIO()
    try:
        text = upload.read().decode("utf-8-sig") if upload is not None else ""
        csv_batches.tokenize(actor(request), ctx(request), io.StringIO(text, newline=""), out)
    except (InvalidInput, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else "the file is not UTF-8 text"
        page.update(error=f"CSV file: {plain(message)}")
        return render(request, "tokens/tokenize.html", page, status=400)
    except VaultError as exc:
        return vault_error(request, exc)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="tokens.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _tokenize_once(request: HttpRequest, data: dict[str, object]) -> vault.TokenInfo:
    def produce() -> tuple[int, dict[str, object]]:
        info = vault.tokenize(actor(request), ctx(request), data)
        return 201, {
            "tokenId": info.token_id,
            "createdAt": info.created_at,
            "TTL": info.expires_at,
            "fields": info.fields,
        }

    key = request.POST.get("once", "")
    if not key:
        return vault.tokenize(actor(request), ctx(request), data)
    # The request as submitted (values included) is only ever hashed, never kept.
    submitted = json.dumps(
        [request.POST.getlist("name"), request.POST.getlist("value"), request.POST.get("days", "")]
    )
    body = idempotency.once(f"operator:{request.user.pk}", key, submitted.encode(), produce).body
    return vault.TokenInfo(body["tokenId"], body["createdAt"], body["TTL"], body["fields"])


@operator_page(may("metadata"))
def lookup(request: HttpRequest) -> HttpResponse:
    page: dict[str, object] = {}
    if request.method == "POST" and request.POST.get("find") == "value":
        return _find_by_value(request)
    if request.method == "POST":
        try:
            page["token"] = forms.shown_token(request.POST)
            token = forms.token_id(request.POST)
            page["info"] = vault.metadata(actor(request), ctx(request), token)
        except FORM_ERRORS as exc:
            page["error"] = plain(exc.message)
            return render(request, "tokens/lookup.html", page, status=exc.status)
        except VaultError as exc:
            return vault_error(request, exc)
    return render(request, "tokens/lookup.html", page)


def _find_by_value(request: HttpRequest) -> HttpResponse:
    """Tokens holding a value, through the vault's search (audited, rate-limited).
    The value is never put back in the page: only the field name is."""
    field_name = request.POST.get("field", "").strip()[:64]
    page: dict[str, object] = {"field": field_name if validation.FIELD_NAME.fullmatch(field_name) else ""}
    try:
        page["found"] = vault.search(actor(request), ctx(request), field_name, request.POST.get("value", ""))
    except FORM_ERRORS as exc:
        page["find_error"] = plain(exc.message)
        return render(request, "tokens/lookup.html", page, status=exc.status)
    except VaultError as exc:
        return vault_error(request, exc)
    page["searched"] = True
    return render(request, "tokens/lookup.html", page)


@operator_page(has("tokens.detokenize"))
def reveal(request: HttpRequest) -> HttpResponse:
    page: dict[str, object] = {"min_reason": settings.VAULT_REVEAL_REASON_MIN}
    if request.method != "POST":
        return render(request, "tokens/reveal.html", page)
    page["token"] = forms.shown_token(request.POST)
    if request.POST.get("step") == "prefill":  # from the token list: the id filled in, nothing revealed yet
        return render(request, "tokens/reveal.html", page)
    page["reason"] = reason = request.POST.get("reason", "").strip()[:500]
    try:
        token = forms.token_id(request.POST)
        revealed = operator_reveal.reveal(
            actor(request), ctx(request, reason), token, authenticated_at=last_authenticated_at(request)
        )
    except operator_reveal.StaleAuthentication:
        # allauth's middleware keeps this POST, asks for the code again, then replays it.
        raise reauthentication_for(request, "reveal", token) from None
    except FORM_ERRORS as exc:
        page["error"] = plain(exc.message)
        return render(request, "tokens/reveal.html", page, status=exc.status)
    except VaultError as exc:
        # Includes AuditUnavailable: nothing is revealed without its audit record.
        return vault_error(request, exc)
    values = [
        {"name": n, "masked": fieldtypes.mask(n, v), "value": v} for n, v in sorted(revealed.data.items())
    ]
    return render(request, "tokens/revealed.html", {"revealed": revealed, "values": values, "reason": reason})


@operator_page(has("tokens.manage_ttl"))
def expiry(request: HttpRequest) -> HttpResponse:
    """One page, four steps: find the token, change its expiry, ask to purge, purge."""
    _, max_days = forms.retention_days()
    if request.method != "POST":
        return render(request, "tokens/expiry.html", {"max_days": max_days})
    step = request.POST.get("step", "find")
    page: dict[str, object] = {"token": forms.shown_token(request.POST), "max_days": max_days}
    try:
        token = forms.token_id(request.POST)
        if step == "change":
            try:
                expires = forms.expiry_time(request.POST)
                info = vault.change_expiry(actor(request), ctx(request), token, expires)
                page["changed"] = True
            except InvalidInput as exc:
                # The form stays, with the token's facts, its limits and what was typed.
                info = vault.metadata(actor(request), ctx(request), token)
                page.update(info=info, **_limits(info), expiry_error=plain(exc.message))
                page["current"] = forms.typed_expiry(request.POST) or page["current"]
                return render(request, "tokens/expiry.html", page, status=400)
        elif step == "purge":
            if request.POST.get("confirm") != "yes":
                info = vault.metadata(actor(request), ctx(request), token)
                return render(request, "tokens/purge_confirm.html", {"info": info})
            return _purge(request, token)
        else:
            info = vault.metadata(actor(request), ctx(request), token)
    except FORM_ERRORS as exc:
        page["error"] = plain(exc.message)
        return render(request, "tokens/expiry.html", page, status=exc.status)
    except VaultError as exc:
        return vault_error(request, exc)
    page.update(info=info, **_limits(info))
    return render(request, "tokens/expiry.html", page)


def _purge(request: HttpRequest, token: str) -> HttpResponse:
    """Purge; a second "Purge now" (a double click) is told the purge is done.

    Only a purge this operator made is remembered (purges.mark), so the answer
    says nothing about tokens they could not see: an unknown, expired or
    someone else's purged token still gets "No such token"."""
    purge = purges.begin(request.user, token)
    try:
        vault.delete(actor(request), ctx(request), token)
    except (NotFound, Conflict):
        purge.cancel()
        at = purges.done_by(request.user, token)
        if at is None:
            raise
        return render(request, "tokens/purged.html", {"token": token, "already": True, "at": at})
    except BaseException:
        purge.cancel()
        raise
    purge.done()
    return render(request, "tokens/purged.html", {"token": token})


def _limits(info: vault.TokenInfo) -> dict[str, object]:
    now = int(time.time())
    latest = min(info.created_at + settings.VAULT_MAX_RETENTION, now + settings.VAULT_MAX_RETENTION)
    return {
        "current": forms.as_input(info.expires_at),
        "earliest": forms.as_input(now + 60),
        "latest": forms.as_input(latest),
        "latest_at": latest,
    }
