"""Operator roles: Django groups, each granting permissions of tokens.VaultAccess.

The groups are created by migration 0004; this table is what the code and the
pages read. Nobody may reveal by default: only `detokenizer` grants it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    name: str
    permissions: tuple[str, ...]  # "app_label.codename"
    summary: str
    # Granting it is sensitive: it opens revealing or managing people.
    sensitive: bool = False


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("tokenizer", ("tokens.tokenize",), "create tokens"),
        Role("detokenizer", ("tokens.detokenize",), "reveal token values", sensitive=True),
        Role("ttl_manager", ("tokens.manage_ttl",), "change expiry and purge tokens"),
        Role("auditor", ("tokens.view_audit",), "read the audit log"),
        Role(
            "vault_admin",
            # The view permissions let the (read-only) Django admin show clients and people.
            ("tokens.manage_operators", "tokens.view_apiclient", "auth.view_user", "auth.view_group"),
            "manage operators and API clients (not reveal)",
            sensitive=True,
        ),
    )
}
# Holders of this role may open the Django admin (read-only for them).
STAFF_ROLE = "vault_admin"


def parse(text: str) -> list[str]:
    """Role names from 'a,b'; raise ValueError naming the first unknown one."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in ROLES:
            raise ValueError(f"unknown role {name!r}; roles are {', '.join(ROLES)}")
    return list(dict.fromkeys(names))
