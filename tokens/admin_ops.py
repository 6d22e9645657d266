"""Managing people and API clients: the one place that checks who may, writes
the audit record, then commits. Pages, commands and the Django admin call these.

`by` is the signed-in operator, or None for the command line (whoever has a
shell on the vault's host is trusted as much as its settings are).

Dual control: when an operator grants a sensitive role (roles.Role.sensitive)
or resets someone who holds one (or lost one within RECENTLY_SENSITIVE), a
pending RoleRequest with the requester's written reason is made instead, and
the other vault admins are told (tokens.notices); a second vault admin, neither
the requester nor the target, approves or rejects it with a comment within
RoleRequest.REQUEST_TTL. The command line stays the break-glass path.

Nobody is handed a password: a new or reset operator gets a sign-in link by
email (tokens.signin_links) and chooses their own. A grant may be time-boxed
(TimedRole): it lapses by itself (lapse_roles), audited.
Order, as in tokens.vault: check, validate, audit, commit. If the audit record
cannot be written, nothing changes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tokens import audit, notices, roles, signin_links, validation
from tokens.actors import PERMISSIONS, Actor, RequestContext
from tokens.errors import AuditUnavailable, InvalidInput, PermissionDenied, VaultError
from tokens.models import ApiClient, OperatorAccount, RoleRequest, TimedRole
from tokens.operators import actor_for, holds

log = logging.getLogger(__name__)
COMMAND_LINE = Actor(kind="system", id="cli", name="(command line)")
TIME_BOX = Actor(kind="system", id="system:time-box", name="(time box ended)")
# A reset this soon after losing a sensitive role still takes two vault admins.
RECENTLY_SENSITIVE = timedelta(days=7)
# What a request's reason and a decision's comment must hold, in characters.
REASON_MIN = 10
COMMENT_MIN = 3
TEXT_MAX = 500
# API client names: no colon or space, so a name never looks like an actor id.
CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SENSITIVE = frozenset(name for name, role in roles.ROLES.items() if role.sensitive)


@dataclass(frozen=True)
class Invitation:
    """Where a sign-in link went. `link` is set only for the command line, and
    only when there was no email address to send it to (or sending failed)."""

    email: str
    sent: bool
    link: str = field(default="", repr=False)


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


def _text(value: str, name: str, least: int) -> str:
    value = " ".join(value.split())
    if len(value) < least:
        raise InvalidInput(f"{name}: write at least {least} characters")
    if len(value) > TEXT_MAX:
        raise InvalidInput(f"{name}: at most {TEXT_MAX} characters")
    return value


def _hours(hours: int | None, role: str) -> int | None:
    if hours is None:
        return None
    if role == roles.STAFF_ROLE:
        raise InvalidInput(f"hours: {role} is granted without a time limit")
    if not 1 <= hours <= RoleRequest.MAX_HOURS:
        raise InvalidInput(f"hours: a whole number from 1 to {RoleRequest.MAX_HOURS}")
    return hours


def _for_hours(hours: int | None) -> str:
    return f" for {hours} hours" if hours else ""


def _deliver(by: Any, user: Any, why: str) -> Invitation:
    """Email the operator a fresh sign-in link (after the change is committed)."""
    link = signin_links.link_for(user)
    sent = bool(user.email) and signin_links.send(user, link, why)
    return Invitation(user.email, sent, link if by is None and not sent else "")


def create_operator(
    by: Any,
    ctx: RequestContext,
    username: str,
    email: str = "",
    role_names: Iterable[str] = (),
    reason: str = "",
) -> tuple[Any, Invitation]:
    """A new operator holding `role_names`, with no password: they choose one
    through the sign-in link emailed to them."""
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
        if by is not None and not email:
            raise InvalidInput("email: required, it is where the operator's sign-in link goes")
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
        signin_links.require_site_url()
        op.detail = f"{username} with roles [{','.join(now)}]" + (
            f", requested [{','.join(asked)}]" if asked else ""
        )
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
        requests = []
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=None)
            OperatorAccount.objects.create(user=user, must_change_password=True, created_by=op.actor.name)
            if email:
                # The admin vouches for the address; it only serves as a sign-in name.
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            _set_roles(user, add=now)
            for role in asked:
                requests.append(
                    RoleRequest.objects.create(
                        kind=RoleRequest.GRANT,
                        target=user,
                        role=role,
                        requested_by=by,
                        reason=f"new operator, created by {by.get_username()}",
                    )  # fmt: skip
                )
        for request in requests:
            notices.request_made(request)
        return user, _deliver(by, user, "A vault admin created your token vault account.")


def recently_sensitive(user: Any) -> bool:
    """Holds a sensitive role, or lost one within RECENTLY_SENSITIVE."""
    if SENSITIVE & set(roles_of(user)):
        return True
    ended = OperatorAccount.objects.filter(user=user).values_list("sensitive_role_ended", flat=True).first()
    return ended is not None and ended > timezone.now() - RECENTLY_SENSITIVE


def reset_operator(by: Any, ctx: RequestContext, username: str, reason: str = "") -> Invitation | None:
    """No password, no authenticators, pending requests cancelled, and a new
    sign-in link emailed to the operator (a lost phone). A deactivated operator
    stays deactivated: a reset is no way back in.

    An operator resetting someone who holds a sensitive role, or lost one
    lately, only asks (with a reason): a pending request is made and None
    returned; the link goes out when a second vault admin approves."""
    with _admin_op("operator_reset", by, ctx) as op:
        user = _operator(username)
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot reset your own account; ask another vault admin.")
        op.detail = _describe(user)
        if by is not None and not user.email:
            raise InvalidInput(
                "operator: no email address for the sign-in link; reset them from the command line"
            )
        if by is not None and recently_sensitive(user):
            reason = _text(reason, "reason", REASON_MIN)
            _refuse_duplicate(user, RoleRequest.RESET, "")
            op.name = "operator_reset_requested"
            op.detail += "; needs a second vault admin"
            op.ctx = replace(ctx, reason=reason)
            op.audit()
            request = RoleRequest.objects.create(
                kind=RoleRequest.RESET, target=user, requested_by=by, reason=reason
            )
            notices.request_made(request)
            return None
        signin_links.require_site_url()
        cancelled = _cancel_requests_of(user, dry_run=True)
        if cancelled:
            op.detail += f"; cancels {cancelled} pending request(s)"
        op.audit()
        _apply_reset(user)
        return _deliver(by, user, "A vault admin reset your token vault account.")


def _apply_reset(user: Any) -> None:
    with transaction.atomic():
        user.set_unusable_password()
        user.save()
        OperatorAccount.objects.update_or_create(user=user, defaults={"must_change_password": True})
        Authenticator.objects.filter(user=user).delete()
        _cancel_requests_of(user)


def _cancel_requests_of(user: Any, dry_run: bool = False) -> int:
    """Pending requests for or by this account: whoever controls it after a reset
    or deactivation must not inherit them."""
    pending = RoleRequest.objects.filter(state=RoleRequest.PENDING).filter(
        Q(target=user) | Q(requested_by=user)
    )
    if dry_run:
        return pending.count()
    return pending.update(state=RoleRequest.CANCELLED, decided_at=timezone.now())


def _refuse_duplicate(user: Any, kind: str, role: str) -> None:
    if RoleRequest.open().filter(target=user, kind=kind, role=role).exists():
        raise InvalidInput(f"request: one for {user.get_username()} is already waiting for approval")


def _keep_two_admins(user: Any) -> None:
    """Dual control needs two vault admins: once there are two, there stay two."""
    admins = (
        get_user_model()
        .objects.filter(groups__name=roles.STAFF_ROLE, is_active=True, is_superuser=False)
        .distinct()
    )
    if admins.filter(pk=user.pk).exists() and admins.count() <= 2:
        raise PermissionDenied(
            "The vault keeps at least two vault admins (dual control needs two); grant another first.",
            internal="would leave fewer than two vault admins",
        )


def deactivate_operator(by: Any, ctx: RequestContext, username: str) -> None:
    """A leaver: the account can no longer sign in, and its sessions end at
    their next request (Django's auth refuses a user whose is_active is False).
    Its pending requests are cancelled. Roles and history stay, for the record."""
    with _admin_op("operator_deactivate", by, ctx) as op:
        user = _operator(username)
        op.detail = _describe(user)
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot deactivate your own account; ask another vault admin.")
        if not user.is_active:
            raise InvalidInput(f"operator: {user.get_username()} is already deactivated")
        _keep_two_admins(user)
        cancelled = _cancel_requests_of(user, dry_run=True)
        if cancelled:
            op.detail += f"; cancels {cancelled} pending request(s)"
        op.audit()
        with transaction.atomic():
            user.is_active = False
            user.save(update_fields=["is_active"])
            _cancel_requests_of(user)


def grant_role(
    by: Any, ctx: RequestContext, username: str, role: str, reason: str = "", hours: int | None = None
) -> RoleRequest | None:
    """Grant `role`, for `hours` only if given; or, for an operator granting a
    sensitive role, return the pending request (with its reason) a second vault
    admin must approve."""
    with _admin_op("role_grant", by, ctx, detail=role) as op:
        if role not in roles.ROLES:
            raise InvalidInput(f"role: unknown role '{role[:40]}'")
        user = _operator(username)
        op.detail = f"{role} to {_describe(user)}"
        if by is not None and by.pk == user.pk:
            raise PermissionDenied("You cannot grant a role to yourself; ask another vault admin.")
        if role in roles_of(user):
            raise InvalidInput(f"role: {user.get_username()} already holds {role}")
        hours = _hours(hours, role)
        op.detail += _for_hours(hours)
        if by is not None and role in SENSITIVE:
            reason = _text(reason, "reason", REASON_MIN)
            _refuse_duplicate(user, RoleRequest.GRANT, role)
            op.name = "role_grant_requested"
            op.detail += "; needs a second vault admin"
            op.ctx = replace(ctx, reason=reason)
            op.audit()
            request = RoleRequest.objects.create(
                kind=RoleRequest.GRANT, target=user, role=role, requested_by=by, reason=reason, hours=hours
            )
            notices.request_made(request)
            return request
        op.audit()
        with transaction.atomic():
            _grant(user, role, hours)
        return None


def _grant(user: Any, role: str, hours: int | None) -> None:
    _set_roles(user, add=[role])
    if hours:
        TimedRole.objects.update_or_create(
            user=user, role=role, defaults={"ends": timezone.now() + timedelta(hours=hours)}
        )


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
        return f"{request.role} to {_describe(request.target)}{_for_hours(request.hours)}"
    return f"reset of {_describe(request.target)}"


def _decide(request: RoleRequest, by: Any, state: str, comment: str) -> None:
    """Mark it decided; refuse if someone else decided it meanwhile."""
    decided = RoleRequest.objects.filter(pk=request.pk, state=RoleRequest.PENDING).update(
        state=state, decided_by=by, decided_at=timezone.now(), comment=comment
    )
    if not decided:
        raise InvalidInput("request: no such pending request")


def approve_request(
    by: Any, ctx: RequestContext, request_id: int, comment: str = ""
) -> tuple[RoleRequest, Invitation | None]:
    """Apply a pending grant or reset as its second vault admin, with a comment.
    Returns the request and, for a reset, where the operator's new sign-in
    link went (never the link itself)."""
    with _admin_op("role_request_approve", by, ctx, detail=f"request:{request_id}") as op:
        request = _decidable(by, request_id)
        op.detail = f"{_what(request)}, requested by {request.requested_by.get_username()}"
        comment = _text(comment, "comment", COMMENT_MIN)
        if request.expired:
            raise InvalidInput("request: expired (older than 24 hours); ask again")
        user = request.target
        names = f"requested by {request.requested_by.get_username()}, approved by {by.get_username()}"
        op.ctx = replace(ctx, reason=f"{request.reason} / approved: {comment}"[: TEXT_MAX * 2 + 20])
        invitation = None
        if request.kind == RoleRequest.GRANT:
            if request.role in roles_of(user):
                raise InvalidInput(f"role: {user.get_username()} already holds {request.role}")
            op.name, op.detail = "role_grant", f"{_what(request)}; {names}"
            op.audit()
            with transaction.atomic():
                _decide(request, by, RoleRequest.APPROVED, comment)
                _grant(user, request.role, request.hours)
        else:
            op.name, op.detail = "operator_reset", f"{_describe(user)}; {names}"
            signin_links.require_site_url()
            op.audit()
            with transaction.atomic():
                _decide(request, by, RoleRequest.APPROVED, comment)
                _apply_reset(user)
            invitation = _deliver(by, user, "A vault admin reset your token vault account.")
        request.refresh_from_db()
        return request, invitation


def reject_request(by: Any, ctx: RequestContext, request_id: int, comment: str = "") -> RoleRequest:
    with _admin_op("role_request_reject", by, ctx, detail=f"request:{request_id}") as op:
        request = _decidable(by, request_id)
        op.detail = f"{_what(request)}, requested by {request.requested_by.get_username()}"
        comment = _text(comment, "comment", COMMENT_MIN)
        op.ctx = replace(ctx, reason=f"{request.reason} / rejected: {comment}")
        op.audit()
        with transaction.atomic():
            _decide(request, by, RoleRequest.REJECTED, comment)
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
        if role == roles.STAFF_ROLE:
            if by is not None and by.pk == user.pk:
                raise PermissionDenied(
                    "You cannot revoke your own vault_admin role; ask another vault admin."
                )
            _keep_two_admins(user)
        op.audit()
        with transaction.atomic():
            _take(user, role)


def _take(user: Any, role: str) -> None:
    _set_roles(user, remove=[role])
    TimedRole.objects.filter(user=user, role=role).delete()
    if role in SENSITIVE:
        OperatorAccount.objects.update_or_create(user=user, defaults={"sensitive_role_ended": timezone.now()})


def lapse_roles() -> int:
    """Take every time-boxed role whose time is up, each audited. The role goes
    even when the audit log cannot be written (the outage is logged): access
    must not outlive its time."""
    due = TimedRole.objects.filter(ends__lte=timezone.now()).select_related("user")
    taken = 0
    for timed in due:
        with transaction.atomic():
            if not TimedRole.objects.filter(pk=timed.pk).delete()[0]:
                continue  # another process took it
            _take(timed.user, timed.role)
        taken += 1
        detail = f"{timed.role} from {_describe(timed.user)}; time box ended {timed.ends:%Y-%m-%d %H:%M} UTC"
        try:
            audit.record("role_lapse", "success", TIME_BOX, RequestContext(channel="system"), detail=detail)
        except AuditUnavailable:
            log.error("audit log unavailable while recording a lapsed role (user:%s)", timed.user.pk)
    return taken


def role_ends(user: Any) -> dict[str, Any]:
    """When each of the operator's time-boxed roles ends."""
    return {t.role: t.ends for t in TimedRole.objects.filter(user=user)}


def create_client(
    by: Any,
    ctx: RequestContext,
    name: str,
    scopes: Iterable[str],
    fields: Iterable[str] = (),
    masked: Iterable[str] = (),
    rate_limit: int | None = None,
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
        if not CLIENT_NAME.match(name):
            raise InvalidInput("name: 1 to 100 letters, digits and . _ - (a name, never an id like user:9)")
        if not scope_list or set(scopes) - set(PERMISSIONS):
            raise InvalidInput(f"scopes: a non-empty list from {', '.join(PERMISSIONS)}")
        if ApiClient.objects.filter(name=name).exists():
            raise InvalidInput("name: an API client with that name exists")
        op.detail = f"{name} scopes [{','.join(scope_list)}] fields [{','.join(field_list) or 'all'}]"
        if masked_list:
            op.detail += f" masked [{','.join(masked_list)}]"
        if rate_limit is not None:
            op.detail += f" rate limit {_rate_limit(rate_limit)}/min"
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
            return ApiClient.issue(name, scope_list, field_list or None, masked_list or None, rate_limit)
        except ValidationError as exc:
            raise InvalidInput("; ".join(exc.messages)) from None


def _rate_limit(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE_LIMIT:
        raise InvalidInput(f"rate limit: a whole number of requests a minute, 1 to {MAX_RATE_LIMIT}")
    return value


# Per process and minute; Lambda's concurrency multiplies it, API Gateway caps the total.
MAX_RATE_LIMIT = 1_000_000


def set_client_rate_limit(by: Any, ctx: RequestContext, name: str, rate_limit: int | None) -> ApiClient:
    """Set an API client's requests a minute (None: back to VAULT_API_RATE_LIMIT).
    Serving processes apply it within API_KEY_CACHE_SECONDS, like a revocation."""
    with _admin_op("api_client_rate_limit", by, ctx) as op:
        client = ApiClient.objects.filter(name=name.strip()).first()
        if client is None:
            raise InvalidInput("name: no such API client")
        new = "default" if rate_limit is None else f"{_rate_limit(rate_limit)}/min"
        old = "default" if client.rate_limit is None else f"{client.rate_limit}/min"
        op.detail = f"{client.name} (client:{client.pk}) rate limit {old} -> {new}"
        op.audit()
        client.rate_limit = rate_limit
        client.save()
        return client


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


def rotate_secret(ctx: RequestContext, name: str) -> str:
    """A new current value for one of the vault's secrets; returns its id. Command line only:
    the functions' roles may read their secrets, never write them."""
    from vaultsite import secrets as vault_secrets

    with _admin_op("secret_rotate", None, ctx, detail=name) as op:
        if name not in vault_secrets.NAMES:
            raise InvalidInput(f"name: one of {', '.join(vault_secrets.NAMES)}")
        if not settings.VAULT_SECRETS_PREFIX:
            raise InvalidInput(
                "VAULT_SECRETS_PREFIX is not set: this process reads its secrets from the environment"
            )
        op.audit()
        ring = vault_secrets.rotate(
            settings.VAULT_SECRETS_PREFIX + vault_secrets.NAMES[name],
            settings.AWS_REGION,
            settings.AWS_ENDPOINT_URL,
        )
        settings.VAULT_KEYRINGS.rings[name] = ring
        return ring.current
