"""The token list: recent tokens' metadata, newest first, with a way on from each row."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import validation, vault
from tokens.errors import InvalidInput, Throttled, VaultError
from tokens.listing import Listed
from tokens.models import ApiClient
from tokens.operators import holds
from tokens.pages.common import actor, ctx, may, operator_page
from tokens.pages.errors import vault_error
from tokens.pages.wording import plain

# Who can have made a token, by group: (actor id, name).
Creators = dict[str, list[tuple[str, str]]]
# Creators that are no operator or API client of the database.
KNOWN = {"system:cli": "(command line)"}


@operator_page(may("metadata"), methods=("GET", "POST"))
def token_list(request: HttpRequest) -> HttpResponse:
    created_by = request.GET.get("created_by", "").strip()[:120]
    day = request.GET.get("day", "").strip()[:10]
    creators = _creators()
    page: dict[str, object] = {
        "created_by": created_by,
        "day": day,
        "creators": creators,
        "may_reveal": holds(request.user, "tokens.detokenize"),
        "may_manage": holds(request.user, "tokens.manage_ttl"),
        "may_search": actor(request).may("search"),
        "search_limit": vault.SEARCH_LIMIT,
    }
    if request.method == "POST":
        return _by_value(request, page, creators)
    try:
        listed = vault.list_tokens(
            actor(request), ctx(request), created_by=created_by, day=day, cursor=request.GET.get("after", "")
        )
    except InvalidInput as exc:
        page["error"] = exc.message
        return render(request, "tokens/token_list.html", page, status=400)
    except VaultError as exc:
        return vault_error(request, exc)
    page["listed"] = listed
    page["rows"] = _named(listed.tokens, creators)
    if listed.cursor:
        page["older"] = "?" + urlencode({"created_by": created_by, "day": day, "after": listed.cursor})
    return render(request, "tokens/token_list.html", page)


def _by_value(request: HttpRequest, page: dict[str, object], creators: Creators) -> HttpResponse:
    """Tokens holding a value, through the vault's search (audited, rate-limited).
    Posted, so the value is in no address; never put back in the page."""
    field_name = request.POST.get("field", "").strip()[:64]
    page["field"] = field_name if validation.FIELD_NAME.fullmatch(field_name) else ""
    try:
        found = vault.search_listed(actor(request), ctx(request), field_name, request.POST.get("value", ""))
    except InvalidInput as exc:
        page["find_error"] = plain(exc.message)
        return render(request, "tokens/token_list.html", page, status=400)
    except Throttled as exc:
        wait = f"{exc.retry_after} second{'' if exc.retry_after == 1 else 's'}"
        page["find_error"] = f"Too many searches in a minute: wait {wait}, then search again."
        response = render(request, "tokens/token_list.html", page, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except VaultError as exc:
        return vault_error(request, exc)
    page.update(found=found, rows=_named(found.tokens, creators))
    return render(request, "tokens/token_list.html", page)


def _named(tokens: list[Listed], creators: Creators) -> list[tuple[Listed, str]]:
    """Each token with its creator's name (a token older than the list has none on record)."""
    names = {**KNOWN, **{key: name for group in creators.values() for key, name in group}}
    names[""] = "(not recorded)"
    return [(token, names.get(token.created_by, token.created_by)) for token in tokens]


def _creators() -> Creators:
    """Who can have made a token, by actor id: the filter's choices, and the names in the list."""
    people = get_user_model().objects.order_by("username").values_list("pk", "username")
    clients = ApiClient.objects.order_by("name").values_list("pk", "name")
    return {
        "Operators": [(f"user:{pk}", name) for pk, name in people],
        "API clients": [(f"client:{pk}", name) for pk, name in clients],
    }
