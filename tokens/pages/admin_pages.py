"""Vault admins' pages: operators and their roles, API clients. Each action
is one call to tokens.admin_ops, which checks, audits and commits."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokens import admin_ops, roles
from tokens.errors import InvalidInput, VaultError
from tokens.models import ApiClient, OperatorAccount, RoleRequest
from tokens.pages.common import ctx, has, operator_page
from tokens.pages.errors import vault_error
from tokens.pages.forms import ClientForm, OperatorForm

MANAGE = has("tokens.manage_operators")
SECOND = "another vault admin must approve it (pending, for 24 hours)."


def _operators() -> list[dict[str, Any]]:
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    enrolled = set(Authenticator.objects.values_list("user_id", flat=True))
    pending = set(OperatorAccount.objects.filter(must_change_password=True).values_list("user_id", flat=True))
    return [
        {
            "user": user,
            "roles": sorted(g.name for g in user.groups.all() if g.name in roles.ROLES),
            "mfa": user.pk in enrolled,
            "pending": user.pk in pending,
        }
        for user in users
    ]


def _operators_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    page = {
        "operators": _operators(),
        "roles": roles.ROLES.values(),
        "form": OperatorForm(),
        "requests": RoleRequest.open().select_related("target", "requested_by"),
        **extra,
    }
    return render(request, "tokens/operators.html", page, status=status)


@operator_page(MANAGE)
def operators(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _operators_page(request)
    action = request.POST.get("action", "")
    username = request.POST.get("username", "").strip()
    role = request.POST.get("role", "")
    try:
        if action == "create":
            form = OperatorForm(request.POST)
            if not form.is_valid():
                return _operators_page(request, 400, form=form)
            user, password = admin_ops.create_operator(
                request.user, ctx(request), form.cleaned_data["username"], form.cleaned_data["email"],
                form.cleaned_data["roles"],
            )  # fmt: skip
            return _operators_page(request, created=user, password=password)
        if action == "grant":
            if admin_ops.grant_role(request.user, ctx(request), username, role):
                return _operators_page(request, done=f"Asked for {role} for {username}; {SECOND}")
            return _operators_page(request, done=f"Granted {role} to {username}.")
        if action in ("approve", "reject"):
            request_id = request.POST.get("request", "")
            if not request_id.isdigit():
                raise InvalidInput("request: no such pending request")
            if action == "reject":
                admin_ops.reject_request(request.user, ctx(request), int(request_id))
                return _operators_page(request, done="Rejected the request.")
            asked, otp = admin_ops.approve_request(request.user, ctx(request), int(request_id))
            if otp:
                return _operators_page(request, reset=asked.target.get_username(), password=otp)
            return _operators_page(request, done=f"Approved: granted {asked.role} to {asked.target}.")
        if action == "revoke":
            admin_ops.revoke_role(request.user, ctx(request), username, role)
            return _operators_page(request, done=f"Revoked {role} from {username}.")
        if action == "reset":
            if request.POST.get("confirm") != "yes":
                raise InvalidInput("reset: tick the box to confirm")
            new_password = admin_ops.reset_operator(request.user, ctx(request), username)
            if new_password is None:
                return _operators_page(request, done=f"Asked to reset {username}; {SECOND}")
            return _operators_page(request, reset=username, password=new_password)
        if action == "deactivate":
            if request.POST.get("confirm") != "yes":
                raise InvalidInput("deactivate: tick the box to confirm")
            admin_ops.deactivate_operator(request.user, ctx(request), username)
            return _operators_page(request, done=f"Deactivated {username}; they can no longer sign in.")
        raise InvalidInput("action: not one this page knows")
    except InvalidInput as exc:
        return _operators_page(request, 400, error=exc.message)
    except VaultError as exc:
        return vault_error(request, exc)


def _clients_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    page = {
        "clients": ApiClient.objects.order_by("-active", "name"),
        "form": ClientForm(),
        "cache_seconds": settings.API_KEY_CACHE_SECONDS,
        **extra,
    }
    return render(request, "tokens/clients.html", page, status=status)


@operator_page(MANAGE)
def clients(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _clients_page(request)
    try:
        if request.POST.get("action") == "revoke":
            if request.POST.get("confirm") != "yes":
                raise InvalidInput("revoke: tick the box to confirm")
            client_id = request.POST.get("client", "")
            if not client_id.isdigit():
                raise InvalidInput("client: no such API client")
            client = admin_ops.revoke_client(request.user, ctx(request), int(client_id))
            return _clients_page(
                request,
                done=f"Revoked {client.name}; its key stops working everywhere within "
                f"{settings.API_KEY_CACHE_SECONDS} seconds.",
            )
        form = ClientForm(request.POST)
        if not form.is_valid():
            return _clients_page(request, 400, form=form)
        client, key = admin_ops.create_client(
            request.user,
            ctx(request),
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            form.field_names(),
        )
        return _clients_page(request, created=client, key=key)
    except InvalidInput as exc:
        return _clients_page(request, 400, error=exc.message)
    except VaultError as exc:
        return vault_error(request, exc)
