"""Roles are groups made by a migration; nobody reveals by default."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from tests.conftest import make_operator
from tokens import roles
from tokens.operators import actor_for


def test_the_migration_makes_each_role_with_exactly_its_permissions(db: Any) -> None:
    for role in roles.ROLES.values():
        group = Group.objects.get(name=role.name)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(role.permissions), role.name


def test_only_the_detokenizer_role_grants_reveal(db: Any) -> None:
    revealing = [r.name for r in roles.ROLES.values() if "tokens.detokenize" in r.permissions]
    assert revealing == ["detokenizer"]


def test_nobody_may_reveal_by_default(db: Any) -> None:
    assert not actor_for(make_operator("newcomer")).may("detokenize")


def test_a_vault_admin_cannot_reveal_unless_also_a_detokenizer(db: Any) -> None:
    admin = make_operator("erin", ("vault_admin",))
    assert not actor_for(admin).may("detokenize")
    both = make_operator("frank", ("vault_admin", "detokenizer"))
    assert actor_for(both).may("detokenize")


def test_it_parses_role_lists_and_names_an_unknown_role() -> None:
    assert roles.parse("detokenizer, auditor,detokenizer") == ["detokenizer", "auditor"]
    try:
        roles.parse("detokenizer,root")
    except ValueError as exc:
        assert "unknown role 'root'" in str(exc)
    else:
        raise AssertionError("an unknown role was accepted")
