"""The token list: recent tokens' metadata, newest first, with a way on from each row."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import vault
from tokens.errors import InvalidInput, VaultError
from tokens.models import ApiClient
from tokens.operators import holds
from tokens.pages.common import actor, ctx, may, operator_page
from tokens.pages.errors import vault_error

# Creators that are no operator or API client of the database.
KNOWN = {"system:cli": "(command line)"}


@operator_page(may("metadata"), methods=("GET",))
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
    }
    try:
        listed = vault.list_tokens(
            actor(request), ctx(request), created_by=created_by, day=day, cursor=request.GET.get("after", "")
        )
    except InvalidInput as exc:
        page["error"] = exc.message
        return render(request, "tokens/token_list.html", page, status=400)
    except VaultError as exc:
        return vault_error(request, exc)
    names = {**KNOWN, **{key: name for group in creators.values() for key, name in group}}
    page["listed"] = listed
    page["rows"] = [(token, names.get(token.created_by, token.created_by)) for token in listed.tokens]
    if listed.cursor:
        page["older"] = "?" + urlencode({"created_by": created_by, "day": day, "after": listed.cursor})
    return render(request, "tokens/token_list.html", page)


def _creators() -> dict[str, list[tuple[str, str]]]:
    """Who can have made a token, by actor id: the filter's choices, and the names in the list."""
    people = get_user_model().objects.order_by("username").values_list("pk", "username")
    clients = ApiClient.objects.order_by("name").values_list("pk", "name")
    return {
        "Operators": [(f"user:{pk}", name) for pk, name in people],
        "API clients": [(f"client:{pk}", name) for pk, name in clients],
    }
