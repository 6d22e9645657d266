"""Vault admins' pages: operators and their roles, API clients. Each action
is one call to tokens.admin_ops, which checks, audits and commits."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from tokens import admin_ops, roles
from tokens.errors import InvalidInput, PermissionDenied, VaultError
from tokens.models import ApiClient, OperatorAccount, RoleRequest, TimedRole
from tokens.pages.common import ctx, has, operator_page
from tokens.pages.errors import vault_error
from tokens.pages.forms import ClientForm, OperatorForm
from tokens.pages.wording import plain

MANAGE = has("tokens.manage_operators")
SECOND = "another vault admin must approve it (pending, for 24 hours); the other vault admins were told."


def _operators() -> list[dict[str, Any]]:
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    enrolled = set(Authenticator.objects.values_list("user_id", flat=True))
    pending = set(OperatorAccount.objects.filter(must_change_password=True).values_list("user_id", flat=True))
    ends: dict[int, dict[str, Any]] = {}
    for timed in TimedRole.objects.all():
        ends.setdefault(timed.user_id, {})[timed.role] = timed.ends
    asked: dict[int, set[str]] = {}
    for request in RoleRequest.open().filter(kind=RoleRequest.GRANT):
        asked.setdefault(request.target_id, set()).add(request.role)
    rows = []
    for user in users:
        held = {g.name for g in user.groups.all()}
        waiting = sorted(asked.get(user.pk, set()) - held)
        rows.append(
            {
                "user": user,
                "roles": [
                    {"name": name, "ends": ends.get(user.pk, {}).get(name)}
                    for name in sorted(n for n in held if n in roles.ROLES)
                ],
                "held": held,
                "waiting": waiting,
                # A role already held, or already asked for, is not offered again.
                "grantable": [
                    r for r in roles.ROLES.values() if r.name not in held and r.name not in waiting
                ],
                "mfa": user.pk in enrolled,
                "pending": user.pk in pending,
            }
        )
    return rows


def _operators_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    page = {
        "operators": _operators(),
        "roles": roles.ROLES.values(),
        "form": OperatorForm(),
        "requests": RoleRequest.open().select_related("target", "requested_by"),
        "max_hours": RoleRequest.MAX_HOURS,
        "typed": {},
        **extra,
    }
    return render(request, "tokens/operators.html", page, status=status)


def _typed(post: QueryDict) -> dict[str, str]:
    """What the operator typed in the form that failed, to show it again (nothing
    here is a vault value: names, roles, hours, reasons and comments)."""
    keys = ("action", "username", "role", "hours", "reason", "comment", "request")
    return {key: post.get(key, "").strip()[:500] for key in keys}


def _hours(post: QueryDict) -> int | None:
    raw = post.get("hours", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"hours: a whole number from 1 to {RoleRequest.MAX_HOURS}, or empty for no limit")
    return int(raw)


def _sent(username: str, invitation: admin_ops.Invitation) -> str:
    if invitation.sent:
        return f"{username} was emailed a sign-in link at {invitation.email} to choose their password."
    return f"The email with {username}'s sign-in link could not be sent; try Reset later to send a new one."


def _created(username: str, wanted: list[str], invitation: admin_ops.Invitation) -> str:
    now = [r for r in wanted if r not in admin_ops.SENSITIVE]
    waiting = [r for r in wanted if r in admin_ops.SENSITIVE]
    held = f" with {_and(now)}" if now else " with no role yet"
    done = f"Created {username}{held}. {_sent(username, invitation)}"
    if waiting:
        done += (
            f" {_and(waiting)} {'is' if len(waiting) == 1 else 'are'} not granted yet: "
            f"pending until another vault admin approves (within 24 hours)."
        )
    return done


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@operator_page(MANAGE)
def operators(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _operators_page(request)
    post = request.POST
    action = post.get("action", "")
    username = post.get("username", "").strip()
    role = post.get("role", "")
    form = OperatorForm(post) if action == "create" else OperatorForm()
    try:
        if action == "create":
            if not form.is_valid():
                return _operators_page(request, 400, form=form)
            wanted = form.cleaned_data["roles"]
            user, created = admin_ops.create_operator(
                request.user, ctx(request), form.cleaned_data["username"], form.cleaned_data["email"], wanted
            )  # fmt: skip
            return _operators_page(request, done=_created(user.username, wanted, created))
        if action == "grant":
            if not role:
                raise InvalidInput("Pick a role to grant.")
            hours = _hours(post)
            if admin_ops.grant_role(
                request.user, ctx(request), username, role, post.get("reason", ""), hours
            ):
                return _operators_page(request, done=f"Asked for {role} for {username}; {SECOND}")
            until = f" for {hours} hours" if hours else ""
            return _operators_page(request, done=f"Granted {role} to {username}{until}.")
        if action in ("approve", "reject"):
            request_id = post.get("request", "")
            if not request_id.isdigit():
                raise InvalidInput("request: no such pending request")
            comment = post.get("comment", "")
            if action == "reject":
                admin_ops.reject_request(request.user, ctx(request), int(request_id), comment)
                return _operators_page(request, done="Rejected the request.")
            asked, invitation = admin_ops.approve_request(
                request.user, ctx(request), int(request_id), comment
            )
            if invitation is not None:
                name = asked.target.get_username()
                return _operators_page(request, done=f"Approved: reset {name}. {_sent(name, invitation)}")
            until = f" for {asked.hours} hours" if asked.hours else ""
            return _operators_page(request, done=f"Approved: granted {asked.role} to {asked.target}{until}.")
        if action == "revoke":
            admin_ops.revoke_role(request.user, ctx(request), username, role)
            return _operators_page(request, done=f"Revoked {role} from {username}.")
        if action == "reset":
            if post.get("confirm") != "yes":
                raise InvalidInput("reset: tick the box to confirm")
            invitation = admin_ops.reset_operator(
                request.user, ctx(request), username, post.get("reason", "")
            )
            if invitation is None:
                return _operators_page(request, done=f"Asked to reset {username}; {SECOND}")
            return _operators_page(request, done=f"Reset {username}. {_sent(username, invitation)}")
        if action == "deactivate":
            if post.get("confirm") != "yes":
                raise InvalidInput("deactivate: tick the box to confirm")
            admin_ops.deactivate_operator(request.user, ctx(request), username)
            return _operators_page(request, done=f"Deactivated {username}; they can no longer sign in.")
        raise InvalidInput("action: not one this page knows")
    except (InvalidInput, PermissionDenied) as exc:
        # Refused (admin_ops has audited it): the page stays, with what was typed.
        return _operators_page(request, exc.status, error=plain(exc.message), form=form, typed=_typed(post))
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
        try:
            client, key = admin_ops.create_client(
                request.user,
                ctx(request),
                form.cleaned_data["name"],
                form.cleaned_data["scopes"],
                form.field_names(),
            )
        except (InvalidInput, PermissionDenied) as exc:
            # Refused (and audited by admin_ops): the form stays, as typed.
            return _clients_page(request, exc.status, form=form, error=plain(exc.message))
        return _clients_page(request, created=client, key=key)
    except InvalidInput as exc:
        return _clients_page(request, 400, error=plain(exc.message))
    except VaultError as exc:
        return vault_error(request, exc)
