"""What every operator page shares: who may open it, and the request context."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from tokens.actors import Actor, RequestContext, context_of
from tokens.operators import actor_for, holds

View = Callable[..., HttpResponse]
Rule = Callable[[Any], bool]


def has(permission: str) -> Rule:
    return lambda user: holds(user, permission)


def may(vault_permission: str) -> Rule:
    return lambda user: actor_for(user).may(vault_permission)


def signed_in(user: Any) -> bool:
    return True


def operator_page(rule: Rule, methods: tuple[str, ...] = ("GET", "POST")) -> Callable[[View], View]:
    """Signed-in operators for whom `rule` holds; everyone else gets the audited 403 page."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active or not rule(request.user):
                raise PermissionDenied
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def actor(request: HttpRequest) -> Actor:
    return actor_for(request.user)


def ctx(request: HttpRequest, reason: str = "") -> RequestContext:
    return context_of(request, "ui", reason)
