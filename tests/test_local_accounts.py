"""`manage.py local_accounts` (make run): an API key and an all-roles operator with a
sign-in link, fresh each run."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tokens import admin_ops, roles
from tokens.management.commands import local_accounts
from tokens.models import OperatorAccount


@pytest.fixture
def local_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's guard reads these; the AWS calls still go to the in-process moto.
    monkeypatch.setattr(
        local_accounts, "settings", SimpleNamespace(AWS_ENDPOINT_URL="http://127.0.0.1:1", DEBUG=True)
    )


def run() -> str:
    out = io.StringIO()
    call_command("local_accounts", stdout=out)
    return out.getvalue()


def link_in(output: str) -> str:
    found = re.search(r"(http://\S+/accounts/welcome/\S+/)", output)
    assert found, output
    return found.group(1)


def test_it_creates_an_operator_with_every_role_and_a_sign_in_link(db: Any, local_emulator: None) -> None:
    from tests.test_createoperator import choose_password

    output = run()
    assert "sign in as operator" in output
    user = get_user_model().objects.get(username="operator")
    assert admin_ops.roles_of(user) == sorted(roles.ROLES)
    assert OperatorAccount.objects.get(user=user).must_change_password
    choose_password(link_in(output), "a-long-fresh-passphrase-7")
    user.refresh_from_db()
    assert user.check_password("a-long-fresh-passphrase-7")


def test_it_resets_the_operator_with_a_new_link_each_run(db: Any, local_emulator: None) -> None:
    from tests.test_createoperator import choose_password

    first = link_in(run())
    second = link_in(run())
    assert first != second
    assert b"This link does not work" in choose_password(first, "a-long-fresh-passphrase-7").content
    choose_password(second, "a-long-fresh-passphrase-7")
    user = get_user_model().objects.get(username="operator")
    assert user.check_password("a-long-fresh-passphrase-7")


def test_it_refuses_to_run_outside_a_local_emulator(db: Any) -> None:
    with pytest.raises(CommandError, match="only runs against a local emulator"):
        run()
