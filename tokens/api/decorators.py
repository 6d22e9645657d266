"""Authentication, body parsing, rate limiting and error mapping for API views."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tokens import api_keys, audit, idempotency
from tokens.actors import ANONYMOUS, Actor, RequestContext, context_of
from tokens.api.responses import error, from_exception, method_not_allowed
from tokens.errors import VaultError
from tokens.ratelimit import limiter, request_limit

View = Callable[..., HttpResponse]
BODY_METHODS = ("POST", "PATCH", "PUT")


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey("a key appears twice in one JSON object")
        seen[key] = value
    return seen


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity, -Infinity: Python's, not JSON's


def _parse_body(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    try:
        raw = request.body
    except RequestDataTooBig:
        return None, error(
            413, "too_large", f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    content_type = request.content_type or ""
    if content_type != "application/json":
        return None, error(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, error(400, "invalid_json", "The body is not valid UTF-8.")
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_not_json)
    except DuplicateKey as exc:
        return None, error(400, "invalid_json", f"The body is not valid: {exc}.")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return None, error(400, "invalid_json", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return None, error(400, "invalid_request", "The body must be a JSON object.")
    return body, None


def api(*methods: str, idempotent: bool = False) -> Callable[[View], View]:
    """An API endpoint: JSON in and out, bearer-key auth, one error shape.

    The wrapped view is called as view(request, actor, ctx, body, **kwargs).
    An `idempotent` endpoint honours an Idempotency-Key header (tokens.idempotency).
    """

    def decorator(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return method_not_allowed(methods)
            ctx = context_of(request)
            try:
                actor = _authenticate(request, ctx)
                if isinstance(actor, HttpResponse):
                    return actor
                wait = limiter.take(actor.id, request_limit(actor))
                if wait:
                    return throttled(wait)
                body: Any = None
                if request.method in BODY_METHODS:
                    body, problem = _parse_body(request)
                    if problem is not None:
                        return problem
                key = request.META.get("HTTP_IDEMPOTENCY_KEY") if idempotent else None
                if key is None:
                    response: HttpResponse = view(request, actor, ctx, body, **kwargs)
                else:
                    response = _once(
                        actor, key, request, body, lambda: view(request, actor, ctx, body, **kwargs)
                    )
            except VaultError as exc:
                response = from_exception(exc)
            response["X-Request-Id"] = ctx.request_id
            return response

        return wrapper

    return decorator


def _once(
    actor: Actor, key: str, request: HttpRequest, body: Any, run: Callable[[], HttpResponse]
) -> HttpResponse:
    """The view's answer under an idempotency key: produced once, then replayed.

    "The same body" is the same JSON, whatever its spacing or key order: a client
    that serializes its retry afresh is still retrying.
    """

    def produce() -> tuple[int, dict[str, Any]]:
        try:
            response = run()
        except VaultError as exc:
            response = from_exception(exc)
        return response.status_code, json.loads(response.content or b"{}")

    same = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()  # ASCII: lone surrogates too
    answer = idempotency.once(f"client:{actor.id}", key, same, produce, raw=request.body)
    response = JsonResponse(answer.body, status=answer.status)
    response["Cache-Control"] = "no-store"
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _authenticate(request: HttpRequest, ctx: RequestContext) -> Actor | HttpResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    if not header:
        return _refuse(ctx, "missing key", "Send your API key as 'Authorization: Bearer <key>'.")
    actor = api_keys.authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        prefix = api_keys.prefix_of(key.strip()) or "unrecognised"
        return _refuse(ctx, f"bad key ({prefix})", "The API key is unknown or revoked.")
    return actor


def throttled(retry_after: int = 60, message: str = "Too many requests; slow down.") -> HttpResponse:
    response = error(429, "throttled", message)
    response["Retry-After"] = str(retry_after)
    return response


def _refuse(ctx: RequestContext, detail: str, message: str) -> HttpResponse:
    # Failed attempts count against the source address, so guessing keys (or
    # flooding the audit log with refusals) is throttled too.
    wait = limiter.take(f"ip:{ctx.source_ip}", settings.VAULT_API_RATE_LIMIT)
    if wait:
        return throttled(wait)
    audit.record_or_log("authenticate", "denied", ANONYMOUS, ctx, detail=detail)  # refusing anyway
    response = error(401, "unauthorized", message)
    response["WWW-Authenticate"] = 'Bearer realm="token-vault"'
    return response
