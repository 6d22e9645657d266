"""Actors are told apart by kind and id: an API client's name can never pose
as an operator's id on the dashboard or in an audit search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import fresh_client, make_operator
from tokens import admin_ops, audit
from tokens.actors import Actor, RequestContext
from tokens.errors import InvalidInput

CLI = RequestContext(channel="cli")


@pytest.mark.parametrize("name", ["user:9", "client:1", "pay ments", "a:b", "-lead", ""])
def test_an_api_client_name_that_could_pose_as_an_id_is_refused(name: str, db: Any) -> None:
    with pytest.raises(InvalidInput, match="never an id"):
        admin_ops.create_client(None, CLI, name, ["tokenize"])


def test_the_command_line_refuses_a_client_named_like_an_operator_id(db: Any) -> None:
    with pytest.raises(CommandError, match="never an id"):
        call_command("createapiclient", "user:9", "--scopes", "tokenize")


def test_a_record_whose_actor_name_looks_like_an_operator_id_is_not_that_operators(
    clean_cache: None,
) -> None:
    alice = make_operator("alice", ("tokenizer",))
    impostor = Actor(kind="api_client", id="client:5", name=f"user:{alice.pk}")
    audit.record("tokenize", "success", impostor, RequestContext(channel="api"), detail="impostor")
    now = datetime.now(UTC)
    found = audit.search(now - timedelta(days=1), now, actor=f"user:{alice.pk}")
    assert [r["detail"] for r in found] == []
    by_name = audit.search(now - timedelta(days=1), now, actor="alice")
    assert all(r["actor_id"] == f"user:{alice.pk}" for r in by_name)
    page = fresh_client(alice).get("/").content.decode()
    assert "impostor" not in page and "client:5" not in page
