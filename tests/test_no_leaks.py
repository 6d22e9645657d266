"""A marker value goes in; it must come out only in a detokenize response."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.conftest import MARKER, Api, audit_records
from tests.test_dependency_failures import fail
from tokens import crypto


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Any:
    caplog.set_level(logging.DEBUG)
    return caplog, capsys


def assert_marker_absent(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], *responses: Any
) -> None:
    for response in responses:
        assert MARKER not in response.content.decode(), response.content
        assert all(MARKER not in str(v) for v in response.headers.values())
    assert MARKER not in caplog.text
    assert all(MARKER not in repr(r.__dict__) for r in caplog.records)
    out, err = capsys.readouterr()
    assert MARKER not in out and MARKER not in err
    assert MARKER not in repr(audit_records())


def test_the_marker_appears_only_in_the_detokenize_response(
    full_api: Api, everything: Any, settings: Any
) -> None:
    settings.METRICS_SINK = "emf"  # metrics go to stdout, which is checked too
    created = full_api.post("/api/v1/tokens", {"data": {"pan": MARKER, "note": MARKER}})
    token = created.json()["tokenId"]
    meta = full_api.get(f"/api/v1/tokens/{token}")
    patched = full_api.patch(f"/api/v1/tokens/{token}", {"TTL": int(time.time()) + 900})
    revealed = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert revealed.json()["data"] == {"pan": MARKER, "note": MARKER}
    deleted = full_api.delete(f"/api/v1/tokens/{token}")
    assert_marker_absent(*everything, created, meta, patched, deleted)


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"pan": MARKER, "TTL": "soon"}},
        {"data": {"pan": MARKER, "TTL": 1}},
        {"data": {MARKER.replace("-", "_"): MARKER, "tokenId": MARKER}},
        {"data": {"pan": MARKER, "bad name": MARKER}},
        {"data": {"pan": [MARKER]}},
        {"data": {"pan": MARKER}, MARKER: MARKER},
        {"data": MARKER},
    ],
)
def test_rejected_input_is_never_echoed(full_api: Api, everything: Any, body: dict[str, Any]) -> None:
    response = full_api.post("/api/v1/tokens", body)
    assert response.status_code == 400
    assert_marker_absent(*everything, response)


def test_a_marker_used_as_a_token_id_is_never_logged(full_api: Api, everything: Any) -> None:
    responses = [
        full_api.post("/api/v1/detokenize", {"tokenId": MARKER}),
        full_api.get(f"/api/v1/tokens/{MARKER}"),
        full_api.patch(f"/api/v1/tokens/{MARKER}", {"TTL": int(time.time()) + 60}),
        full_api.delete(f"/api/v1/tokens/{MARKER}"),
    ]
    assert [r.status_code for r in responses] == [404] * 4
    assert_marker_absent(*everything, *responses)


def test_a_marker_used_as_an_api_key_is_never_logged(db: Any, everything: Any) -> None:
    response = Api(MARKER).post("/api/v1/tokens", {"data": {"pan": "x"}})
    assert response.status_code == 401
    assert_marker_absent(*everything, response)


def test_failures_mid_request_never_leak_the_marker(
    full_api: Api, everything: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = full_api.tokenize({"pan": MARKER})
    with monkeypatch.context() as patch:
        crypto.reset()  # a fresh process: it must load the key version from KMS
        fail(patch, "kms", "decrypt")
        kms_down = full_api.post("/api/v1/detokenize", {"tokenId": token})
    with monkeypatch.context() as patch:
        fail(patch, "dynamodb", "transact_write_items")
        ddb_down = full_api.post("/api/v1/tokens", {"data": {"pan": MARKER}})
    with monkeypatch.context() as patch:
        crypto.reset()
        fail(patch, "kms", "decrypt", exc=RuntimeError("boom"))
        unexpected = full_api.post("/api/v1/tokens", {"data": {"pan": MARKER}})
    assert [kms_down.status_code, ddb_down.status_code, unexpected.status_code] == [503, 503, 500]
    assert unexpected.json()["error"]["code"] == "error"
    assert_marker_absent(*everything, kms_down, ddb_down, unexpected)


def test_the_marker_is_never_in_the_key_store_nor_in_rotation_and_re_keying(
    full_api: Api, everything: Any
) -> None:
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command

    from tests.conftest import raw_item
    from tokens import aws

    token = full_api.tokenize({"pan": MARKER})
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    call_command("rekey", stdout=out, stderr=out)
    assert crypto.sealed_with(raw_item(token)) == "vault-SYD#1"
    assert MARKER not in out.getvalue()
    keys = aws.client("dynamodb").scan(TableName=settings.VAULT_KEYS_TABLE)["Items"]
    # Both versions of this region's material (beside any other material, e.g. fingerprints).
    assert sorted(k["V"]["N"] for k in keys if k["N"]["S"] == "vault-SYD") == ["0", "1"]
    assert MARKER not in repr(keys)
    assert_marker_absent(*everything)
