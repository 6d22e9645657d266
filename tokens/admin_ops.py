"""Managing people and API clients: the one place that checks who may, writes
the audit record, then commits. Pages, commands and the Django admin call these.

`by` is the signed-in operator, or None for the command line (whoever has a
shell on the vault's host is trusted as much as its settings are).

Dual control: when an operator grants a sensitive role (roles.Role.sensitive)
or resets someone who holds one, a pending RoleRequest is made instead; a
second vault admin, neither the requester nor the target, approves it within
RoleRequest.REQUEST_TTL. The command line stays the break-glass path.
Order, as in tokens.vault: check, validate, audit, commit. If the audit record
cannot be written, nothing changes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from tokens import audit, roles, validation
from tokens.actors import PERMISSIONS, Actor, RequestContext
from tokens.errors import AuditUnavailable, InvalidInput, PermissionDenied, VaultError
from tokens.models import ApiClient, OperatorAccount, RoleRequest
from tokens.operators import actor_for, holds

log = logging.getLogger(__name__)
COMMAND_LINE = Actor(kind="system", id="cli", name="(command line)")
# One-time passwords: no look-alike characters, grouped for reading aloud.
OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
SENSITIVE = frozenset(name for name, role in roles.ROLES.items() if role.sensitive)


def one_time_password() -> str:
    return "-".join("".join(secrets.choice(OTP_ALPHABET) for _ in range(5)) for _ in range(4))


@dataclass
class _AdminOp:
    name: str
    actor: Actor
    ctx: RequestContext
    detail: str = ""
    audited: bool = False

    def audit(self) -> None:
        audit.record(self.name, "success", self.actor, self.ctx, detail=self.detail)
        self.audited = True


@contextmanager
def _admin_op(name: str, by: Any, ctx: RequestContext, detail: str = "") -> Iterator[_AdminOp]:
    op = _AdminOp(name, COMMAND_LINE if by is None else actor_for(by), ctx, detail)
    try:
        if by is not None and not holds(by, "tokens.manage_operators"):
            raise PermissionDenied("Only a vault admin may manage operators and API clients.")
        yield op
    except AuditUnavailable:
        log.error("audit log unavailable: %s refused (request %s)", name, ctx.request_id)
        raise
    except VaultError as exc:
        _record_failure(op, exc.outcome, exc.internal or exc.message)
        raise
    except Exception as exc:
        _record_failure(op, "error", type(exc).__name__)
        log.exception("%s failed unexpectedly (request %s)", name, ctx.request_id)
        raise VaultError(internal=type(exc).__name__) from None


def _record_failure(op: _AdminOp, outcome: str, why: str) -> None:
    detail = ("after audit: " if op.audited else "") + "; ".join(x for x in (op.detail, why) if x)
    audit.record_or_log(op.name, outcome, op.actor, op.ctx, detail=detail)


def _operator(username: str) -> Any:
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise InvalidInput("operator: no such operator") from None


def _describe(user: Any) -> str:
    return f"{user.get_username()} (user:{user.pk})"


def _set_roles(user: Any, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
    for name in add:
        user.groups.add(Group.objects.get(name=name))
    for name in remove:
        user.groups.remove(Group.objects.get(name=name))
    staff = user.groups.filter(name=roles.STAFF_ROLE).exists()
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])


def roles_of(user: Any) -> list[str]:
    return sorted(user.groups.filter(name__in=list(roles.ROLES)).values_list("name", flat=True))


def create_operator(
    by: Any, ctx: RequestContext, username: str, email: str = "", role_names: Iterable[str] = ()
) -> tuple[Any, str]:
    """A new operator holding `role_names`; returns (user, one-time password)."""
    wanted = list(dict.fromkeys(role_names))
    with _admin_op("operator_create", by, ctx) as op:
        User = get_user_model()
        username = username.strip()
        email = email.strip().lower()
        try:
            User._meta.get_field("username").run_validators(username)
            if email:
                validate_email(email)
        except ValidationError:
            raise InvalidInput("operator: a username of letters, digits and @.+-_, and a valid email or none")
        if not username:
            raise InvalidInput("operator: a username is required")
        if User.objects.filter(username__iexact=username).exists():
            raise InvalidInput("operator: that username is taken")
        if email and (
            User.objects.filter(email__iexact=email).exists()
            or EmailAddress.objects.filter(email__iexact=email).exists()
        ):
            raise InvalidInput("operator: that email belongs to another operator")
        unknown = [r for r in wanted if r not in roles.ROLES]
        if unknown:
            raise InvalidInput(f"roles: unknown role '{unknown[0]}'")
        # An operator's sensitive roles wait for a second vault admin.
        asked = [r for r in wanted if by is not None and r in SENSITIVE]
        now = [r for r in wanted if r not in asked]
        op.detail = f"{username} with roles [{','.join(now)}]" + (
            f", requested [{','.join(asked)}]" if asked else ""
        )
        password = one_time_password()
        op.audit()
        for role in now:
            audit.record(
                "role_grant", "success", op.actor, ctx, detail=f"{role} to {username} (new operator)"
            )
        for role in asked:
            audit.record(
                "role_grant_requested", "success", op.actor, ctx,
                detail=f"{role} to {username} (new operator); needs a second vault admin",
            )  # fmt: skip
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            OperatorAccount.objects.create(user=user, must_change_password=True, created_by=op.actor.name)
            if email:
                # The admin vouches for the address; it only serves as a sign-in name.
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            _set_roles(user, add=now)
            for role in asked:
                RoleRequest.objects.create(kind=RoleRequest.GRANT, target=user, role=role, requested_by=by)
        return user, password


def reset_operator(by: Any, ctx: RequestContext, username: str) -> str | None:
    """A new one-time password, and the operator's authenticators removed so
    they enrol afresh (a lost phone). Returns the password. A deactivated
    operator stays deactivated: a reset is no way back in.

    An operator resetting someone who holds a sensitive role only asks: a
    pending request is made and None returned; the password goes to the
    vault admin who approves it (approve_request)."""
    with _admin_op("operator_reset", by, ctx) as op:
        user = _operator(username)
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot reset your own account; ask another vault admin.")
        op.detail = _describe(user)
        if by is not None and SENSITIVE & set(roles_of(user)):
            _refuse_duplicate(user, RoleRequest.RESET, "")
            op.name = "operator_reset_requested"
            op.detail += "; needs a second vault admin"
            op.audit()
            RoleRequest.objects.create(kind=RoleRequest.RESET, target=user, requested_by=by)
            return None
        password = one_time_password()
        op.audit()
        _apply_reset(user, password)
        return password


def _apply_reset(user: Any, password: str) -> None:
    with transaction.atomic():
        user.set_password(password)
        user.save()
        OperatorAccount.objects.update_or_create(user=user, defaults={"must_change_password": True})
        Authenticator.objects.filter(user=user).delete()


def _refuse_duplicate(user: Any, kind: str, role: str) -> None:
    if RoleRequest.open().filter(target=user, kind=kind, role=role).exists():
        raise InvalidInput(f"request: one for {user.get_username()} is already waiting for approval")


def deactivate_operator(by: Any, ctx: RequestContext, username: str) -> None:
    """A leaver: the account can no longer sign in, and its sessions end at
    their next request (Django's auth refuses a user whose is_active is False).
    Roles and history stay, for the record."""
    with _admin_op("operator_deactivate", by, ctx) as op:
        user = _operator(username)
        op.detail = _describe(user)
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot deactivate your own account; ask another vault admin.")
        if not user.is_active:
            raise InvalidInput(f"operator: {user.get_username()} is already deactivated")
        op.audit()
        with transaction.atomic():
            user.is_active = False
            user.save(update_fields=["is_active"])


def grant_role(by: Any, ctx: RequestContext, username: str, role: str) -> RoleRequest | None:
    """Grant `role`; or, for an operator granting a sensitive role, return the
    pending request a second vault admin must approve."""
    with _admin_op("role_grant", by, ctx, detail=role) as op:
        if role not in roles.ROLES:
            raise InvalidInput(f"role: unknown role '{role[:40]}'")
        user = _operator(username)
        op.detail = f"{role} to {_describe(user)}"
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot grant a role to yourself; ask another vault admin.")
        if role in roles_of(user):
            raise InvalidInput(f"role: {user.get_username()} already holds {role}")
        if by is not None and role in SENSITIVE:
            _refuse_duplicate(user, RoleRequest.GRANT, role)
            op.name = "role_grant_requested"
            op.detail += "; needs a second vault admin"
            op.audit()
            return RoleRequest.objects.create(kind=RoleRequest.GRANT, target=user, role=role, requested_by=by)
        op.audit()
        with transaction.atomic():
            _set_roles(user, add=[role])
        return None


def _decidable(by: Any, request_id: int) -> RoleRequest:
    """The pending request `by` may decide: a vault admin (checked by
    _admin_op) who is neither its requester nor its target."""
    if by is None:
        raise PermissionDenied("Requests are decided by a second vault admin on the Operators page.")
    request = RoleRequest.objects.select_related("target", "requested_by").filter(pk=request_id).first()
    if request is None or request.state != RoleRequest.PENDING:
        raise InvalidInput("request: no such pending request")
    if by.pk == request.requested_by_id:
        raise PermissionDenied("You asked for this; another vault admin must decide it.")
    if by.pk == request.target_id:
        raise PermissionDenied("This request is about you; another vault admin must decide it.")
    return request


def _what(request: RoleRequest) -> str:
    if request.kind == RoleRequest.GRANT:
        return f"{request.role} to {_describe(request.target)}"
    return f"reset of {_describe(request.target)}"


def _decide(request: RoleRequest, by: Any, state: str) -> None:
    """Mark it decided; refuse if someone else decided it meanwhile."""
    decided = RoleRequest.objects.filter(pk=request.pk, state=RoleRequest.PENDING).update(
        state=state, decided_by=by, decided_at=timezone.now()
    )
    if not decided:
        raise InvalidInput("request: no such pending request")


def approve_request(by: Any, ctx: RequestContext, request_id: int) -> tuple[RoleRequest, str | None]:
    """Apply a pending grant or reset as its second vault admin. Returns the
    request and, for a reset, the one-time password (for the approver only)."""
    with _admin_op("role_request_approve", by, ctx, detail=f"request:{request_id}") as op:
        request = _decidable(by, request_id)
        op.detail = f"{_what(request)}, requested by {request.requested_by.get_username()}"
        if request.expired:
            raise InvalidInput("request: expired (older than 24 hours); ask again")
        user = request.target
        names = f"requested by {request.requested_by.get_username()}, approved by {by.get_username()}"
        password = None
        if request.kind == RoleRequest.GRANT:
            if request.role in roles_of(user):
                raise InvalidInput(f"role: {user.get_username()} already holds {request.role}")
            op.name, op.detail = "role_grant", f"{request.role} to {_describe(user)}; {names}"
            op.audit()
            with transaction.atomic():
                _decide(request, by, RoleRequest.APPROVED)
                _set_roles(user, add=[request.role])
        else:
            op.name, op.detail = "operator_reset", f"{_describe(user)}; {names}"
            password = one_time_password()
            op.audit()
            with transaction.atomic():
                _decide(request, by, RoleRequest.APPROVED)
                _apply_reset(user, password)
        request.refresh_from_db()
        return request, password


def reject_request(by: Any, ctx: RequestContext, request_id: int) -> RoleRequest:
    with _admin_op("role_request_reject", by, ctx, detail=f"request:{request_id}") as op:
        request = _decidable(by, request_id)
        op.detail = f"{_what(request)}, requested by {request.requested_by.get_username()}"
        op.audit()
        with transaction.atomic():
            _decide(request, by, RoleRequest.REJECTED)
        request.refresh_from_db()
        return request


def revoke_role(by: Any, ctx: RequestContext, username: str, role: str) -> None:
    with _admin_op("role_revoke", by, ctx, detail=role) as op:
        if role not in roles.ROLES:
            raise InvalidInput(f"role: unknown role '{role[:40]}'")
        user = _operator(username)
        op.detail = f"{role} from {_describe(user)}"
        if role not in roles_of(user):
            raise InvalidInput(f"role: {user.get_username()} does not hold {role}")
        op.audit()
        with transaction.atomic():
            _set_roles(user, remove=[role])


def create_client(
    by: Any,
    ctx: RequestContext,
    name: str,
    scopes: Iterable[str],
    fields: Iterable[str] = (),
    masked: Iterable[str] = (),
) -> tuple[ApiClient, str]:
    """A new API client; returns it with its key, which is shown once and never stored.
    The `detokenize` scope only from the command line (`by` None), never a page."""
    with _admin_op("api_client_create", by, ctx) as op:
        name = name.strip()
        scope_list = [s for s in PERMISSIONS if s in set(scopes)]
        field_list = [validation.field_name(f.strip(), "fields") for f in fields if f.strip()]
        masked_list = [
            "*" if f.strip() == "*" else validation.field_name(f.strip(), "masked fields")
            for f in masked
            if f.strip()
        ]
        if not name or len(name) > 100:
            raise InvalidInput("name: 1 to 100 characters")
        if not scope_list or set(scopes) - set(PERMISSIONS):
            raise InvalidInput(f"scopes: a non-empty list from {', '.join(PERMISSIONS)}")
        if ApiClient.objects.filter(name=name).exists():
            raise InvalidInput("name: an API client with that name exists")
        op.detail = f"{name} scopes [{','.join(scope_list)}] fields [{','.join(field_list) or 'all'}]"
        if masked_list:
            op.detail += f" masked [{','.join(masked_list)}]"
        if by is not None and "detokenize" in scope_list:
            # A key that reveals would let a vault admin read every value without
            # the detokenizer role: only the command line issues one.
            raise PermissionDenied(
                "Only the command line (manage.py createapiclient) may issue a client"
                " with the detokenize scope.",
                internal="detokenize scope needs the command line",
            )
        op.audit()
        try:
            return ApiClient.issue(name, scope_list, field_list or None, masked_list or None)
        except ValidationError as exc:
            raise InvalidInput("; ".join(exc.messages)) from None


def revoke_client(by: Any, ctx: RequestContext, client_id: int) -> ApiClient:
    with _admin_op("api_client_revoke", by, ctx) as op:
        client = ApiClient.objects.filter(pk=client_id).first()
        if client is None:
            raise InvalidInput("client: no such API client")
        op.detail = f"{client.name} (client:{client.pk})"
        if not client.active:
            raise InvalidInput("client: already revoked")
        op.audit()
        client.active = False
        client.save()
        return client
