"""What every operator page shares: who may open it, and the request context."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from tokens import roles
from tokens.actors import Actor, RequestContext, context_of
from tokens.operators import actor_for, holds, vault_permissions

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Rule:
    """Who may open a page, and the roles that would let them (for the 403 page)."""

    test: Callable[[Any], bool]
    roles: tuple[str, ...] = ()

    def __call__(self, user: Any) -> bool:
        return self.test(user)


class RoleMissing(DjangoPermissionDenied):
    """A signed-in operator without a role the page needs: the 403 page names it."""

    def __init__(self, user: Any, rule: Callable[[Any], bool]) -> None:
        self.message, self.hint = missing_role(user, getattr(rule, "roles", ()))
        super().__init__(self.message)


def _listed(names: list[str], last: str) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} " + names[-1]


def missing_role(user: Any, needed: tuple[str, ...]) -> tuple[str, str]:
    """(what happened, what to do) for an operator who lacks every role in `needed`."""
    if not user.is_active:
        return "This account is deactivated.", "Ask a vault admin if that is a mistake."
    held = [name for name in roles.ROLES if user.groups.filter(name=name).exists()]
    have = f" You hold {_listed(held, 'and')}." if held else " You hold no role yet."
    if not needed:
        return (
            "Your roles do not allow this page." + have,
            "Ask a vault admin to grant you the role you need.",
        )
    which = f"the {needed[0]} role" if len(needed) == 1 else f"one of the roles {_listed(list(needed), 'or')}"
    if roles.STAFF_ROLE in held:
        hint = f"Nobody grants a role to themselves: ask another vault admin to grant you {which}."
    else:
        hint = f"Ask a vault admin to grant you {which}."
    return f"This page needs {which}.{have}", hint


def has(permission: str) -> Rule:
    granting = tuple(name for name, role in roles.ROLES.items() if permission in role.permissions)
    return Rule(lambda user: holds(user, permission), granting)


def may(vault_permission: str) -> Rule:
    granting = tuple(
        name
        for name, role in roles.ROLES.items()
        if vault_permission in vault_permissions(role.permissions.__contains__)
    )
    return Rule(lambda user: actor_for(user).may(vault_permission), granting)


signed_in = Rule(lambda user: True)


def operator_page(
    rule: Callable[[Any], bool], methods: tuple[str, ...] = ("GET", "POST")
) -> Callable[[View], View]:
    """Signed-in operators for whom `rule` holds; everyone else gets the audited 403 page."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active or not rule(request.user):
                raise RoleMissing(request.user, rule)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def actor(request: HttpRequest) -> Actor:
    return actor_for(request.user)


def ctx(request: HttpRequest, reason: str = "") -> RequestContext:
    return context_of(request, "ui", reason)
