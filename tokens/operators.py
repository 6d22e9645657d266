"""Operators (people signed in to the pages) as vault actors."""

from __future__ import annotations

from typing import Any

from tokens.actors import Actor


def permissions_of(user: Any) -> frozenset[str]:
    granted: set[str] = set()
    if user.has_perm("tokens.tokenize"):
        granted.add("tokenize")
    if user.has_perm("tokens.detokenize"):
        granted.add("detokenize")
    if user.has_perm("tokens.manage_ttl"):
        granted |= {"ttl", "delete"}
    if granted:
        granted.add("metadata")
    return frozenset(granted)


def actor_for(user: Any) -> Actor:
    return Actor(
        kind="operator", id=f"user:{user.pk}", name=user.get_username(), permissions=permissions_of(user)
    )
