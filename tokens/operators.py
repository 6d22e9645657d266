"""Operators (people signed in to the pages) as vault actors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokens.actors import Actor


def holds(user: Any, permission: str) -> bool:
    """A permission granted through roles. Django lets superusers pass every
    check, which would undo separation of duties: here they hold nothing."""
    return bool(user.is_active and not user.is_superuser and user.has_perm(permission))


def permissions_of(user: Any) -> frozenset[str]:
    return vault_permissions(lambda permission: holds(user, permission))


def vault_permissions(held: Callable[[str], bool]) -> frozenset[str]:
    """What the vault lets one do who holds the Django permissions `held` says yes to."""
    granted: set[str] = set()
    if held("tokens.tokenize"):
        granted.add("tokenize")
    if held("tokens.detokenize"):
        granted.add("detokenize")
    if held("tokens.manage_ttl"):
        granted |= {"ttl", "delete"}
    if granted:
        # The look-up right: metadata, and finding tokens by value (audited, rate-limited).
        granted |= {"metadata", "search"}
    return frozenset(granted)


def actor_for(user: Any) -> Actor:
    return Actor(
        kind="operator", id=f"user:{user.pk}", name=user.get_username(), permissions=permissions_of(user)
    )
