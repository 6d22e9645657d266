"""An operator's reveal: the vault's detokenize, behind two more rules of the
operator channel — a written reason, and a sign-in or re-authentication within
VAULT_REVEAL_FRESH_AUTH seconds. Refusals are audited like the vault's own.

The form is checked (reason, token id format) before freshness: a stale
operator is sent to re-authenticate with the form kept in the session, and a
malformed "token" (perhaps the very value pasted in the wrong box) must never
be kept there."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from tokens import audit, validation, vault
from tokens.actors import Actor, RequestContext
from tokens.errors import InvalidInput, NotFound, PermissionDenied, VaultError

log = logging.getLogger(__name__)


class StaleAuthentication(PermissionDenied):
    code = "reauthentication_required"
    message = "Confirm who you are again before revealing values."


def reveal(
    actor: Actor,
    ctx: RequestContext,
    token_id: str,
    *,
    authenticated_at: float | None,
    now: float | None = None,
) -> vault.Revealed:
    if actor.may("detokenize"):
        refusal = _refusal(ctx, token_id, authenticated_at, time.time() if now is None else now)
        if refusal is not None:
            _audit_refusal(actor, ctx, token_id, refusal)
            raise refusal
    # Without the role the vault itself refuses, and audits that.
    return vault.detokenize(actor, ctx, token_id)


def _refusal(
    ctx: RequestContext, token_id: str, authenticated_at: float | None, now: float
) -> VaultError | None:
    if len(ctx.reason.strip()) < settings.VAULT_REVEAL_REASON_MIN:
        return InvalidInput(
            f"reason: write at least {settings.VAULT_REVEAL_REASON_MIN} characters on why you need them",
            internal="no reason",
        )
    if not validation.is_token_id(token_id):
        return NotFound(internal="malformed token")
    if authenticated_at is None or now - authenticated_at >= settings.VAULT_REVEAL_FRESH_AUTH:
        return StaleAuthentication(internal="stale authentication")
    return None


def _audit_refusal(actor: Actor, ctx: RequestContext, token_id: str, refusal: VaultError) -> None:
    token = token_id if validation.is_token_id(token_id) else vault.MALFORMED
    audit.record_or_log("detokenize", refusal.outcome, actor, ctx, token_id=token, detail=refusal.internal)
