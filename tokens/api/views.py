"""JSON API views: parse, call one vault function, render."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from tokens import validation, vault
from tokens.actors import Actor, RequestContext
from tokens.api.decorators import api, throttled
from tokens.api.openapi import spec
from tokens.api.responses import get_only, no_such_endpoint, ok
from tokens.errors import VaultError, error_body, public
from tokens.ratelimit import limiter, request_limit


@api("POST", idempotent=True)
def tokens(request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any]) -> HttpResponse:
    validation.only_keys(body, {"data", "deduplicate", "aliases"})
    if "data" not in body:
        raise validation.invalid("data", "is required")
    info = vault.tokenize(
        actor,
        ctx,
        body["data"],
        deduplicate=body.get("deduplicate", False),
        alias_formats=body.get("aliases"),
    )
    if info.deduplicated:
        return ok({"tokenId": info.token_id, "TTL": info.expires_at, "deduplicated": True})
    answer: dict[str, Any] = {"tokenId": info.token_id, "TTL": info.expires_at}
    if info.aliases:
        answer["aliases"] = info.aliases
    return ok(answer, status=201)


@api("POST")
def detokenize(request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any]) -> HttpResponse:
    validation.only_keys(body, {"tokenId", "alias", "field", "fields", "mask"})
    alias = None
    token_id = body.get("tokenId")
    if "alias" in body or "field" in body:
        if token_id is not None:
            raise validation.invalid("tokenId", "give a tokenId, or an alias with its field, not both")
        alias = validation.alias_ref(body.get("alias"), body.get("field"))
        token_id = ""
    elif not isinstance(token_id, str):
        raise validation.invalid("tokenId", "is required and must be a string")
    revealed = vault.detokenize(
        actor, ctx, token_id, body.get("fields"), body.get("mask", False), alias=alias
    )
    return ok(revealed.as_json())


@api("POST")
def search(request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any]) -> HttpResponse:
    validation.only_keys(body, {"field", "value"})
    found = vault.search(actor, ctx, body.get("field"), body.get("value"))
    return ok({"tokens": [{"tokenId": token_id, "TTL": expires_at} for token_id, expires_at in found]})


@api("POST", idempotent=True)
def tokens_batch(
    request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any]
) -> HttpResponse:
    records = validation.batch(body, "records")
    return ok({"results": [_result(r) for r in vault.tokenize_batch(actor, ctx, records)]})


@api("POST")
def detokenize_batch(
    request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any]
) -> HttpResponse:
    entries = validation.batch(body, "tokens")
    # A batch of n reveals weighs n requests (the call itself paid one), so
    # batching gains a scraper nothing over single calls.
    limit = request_limit(actor)
    if len(entries) > limit:
        return throttled(
            60, f"A batch of {len(entries)} counts {len(entries)} requests, over this client's "
            f"{limit} a minute; send smaller batches."
        )  # fmt: skip
    wait = limiter.take(actor.id, limit, cost=len(entries) - 1)
    if wait:
        return throttled(wait)
    return ok({"results": [_result(r) for r in vault.detokenize_batch(actor, ctx, entries)]})


def _result(result: vault.BatchResult) -> dict[str, Any]:
    if isinstance(result, VaultError):
        exc = public(result)
        return error_body(exc.code, exc.message, **exc.details)
    if isinstance(result, vault.TokenInfo):
        return {"tokenId": result.token_id, "TTL": result.expires_at}
    return result.as_json()


@api("GET", "PATCH", "DELETE")
def token(
    request: HttpRequest, actor: Actor, ctx: RequestContext, body: dict[str, Any] | None, token_id: str
) -> HttpResponse:
    if request.method == "GET":
        return ok(vault.metadata(actor, ctx, token_id).as_json())
    if request.method == "PATCH":
        assert body is not None
        validation.only_keys(body, {"TTL"})
        if "TTL" not in body:
            raise validation.invalid("TTL", "is required")
        return ok(vault.change_expiry(actor, ctx, token_id, body["TTL"]).as_json())
    vault.delete(actor, ctx, token_id)
    return HttpResponse(status=204)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return no_such_endpoint()


@get_only
def openapi(request: HttpRequest) -> HttpResponse:
    return ok(spec())


@get_only
def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "tokens/api_docs.html", {"spec": spec()})
