"""`manage.py createoperator`: a new operator with roles and a one-time password."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.conftest import audit_where
from tokens import admin_ops
from tokens.models import OperatorAccount


def test_it_creates_an_operator_and_prints_the_one_time_password(clean_cache: None) -> None:
    out = io.StringIO()
    call_command("createoperator", "kim", "--roles", "detokenizer,auditor", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Created operator 'kim' with roles detokenizer, auditor."
    password = lines[-1]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="kim")
    assert admin_ops.roles_of(user) == ["auditor", "detokenizer"]
    assert OperatorAccount.objects.get(user=user).must_change_password
    response = Client().post("/accounts/login/", {"login": "kim", "password": password})
    assert response["Location"] == "/"
    assert [r["action"] for r in audit_where(channel="cli")] == [
        "operator_create",
        "role_grant",
        "role_grant",
    ]


def test_it_names_an_unknown_role(db: Any) -> None:
    with pytest.raises(CommandError, match="unknown role 'admin'"):
        call_command("createoperator", "kim", "--roles", "admin")


def test_it_refuses_a_taken_username(db: Any) -> None:
    call_command("createoperator", "kim", stdout=io.StringIO())
    with pytest.raises(CommandError, match="that username is taken"):
        call_command("createoperator", "KIM", stdout=io.StringIO())
