"""Honeytokens: decoy tokens that look like any token, answer like any token,
and raise an alert naming the caller the moment anyone uses one."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from monitoring import aws as monitoring_aws
from tests.conftest import Api, CallLog, audit_records, fresh_client, make_api, raw_item
from tests.lambda_events import load_stage
from tokens import aws, fieldtypes, honeytokens, vault
from tokens.actors import Actor, RequestContext
from vaultsite.lambda_handler import lambda_handler

pytestmark = pytest.mark.django_db

TOKEN_ID = re.compile(r"^TKN-SYD-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ANY_TOKEN_ID = re.compile(r"TKN-SYD-[0-9a-f-]{36}")
SETUP = Actor(kind="system", id="test", name="test-setup", permissions=frozenset({"tokenize"}))
# Real values (a Luhn-valid card in no test card list) of the decoys' default fields.
REAL = {"card_number": "4973172240660003", "cvc": "123"}
REASON = "INC-1234: customer asked us to confirm the card on file"


def plant(count: int = 1, fields: str = "", creator: str = "") -> list[str]:
    out = io.StringIO()
    args = ["--count", str(count)] + (["--fields", fields] if fields else [])
    args += ["--creator", creator] if creator else []
    call_command("plant_honeytokens", *args, stdout=out)
    return out.getvalue().splitlines()[-count:]


def real_token(data: dict[str, str] | None = None) -> str:
    return vault.tokenize(SETUP, RequestContext(channel="cli"), data or REAL).token_id


def honeytoken_records() -> list[dict[str, Any]]:
    return [r for r in audit_records() if r["outcome"] == "honeytoken"]


def decoy_rows() -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=settings.VAULT_DECOY_TABLE)["Items"])


# --- planting ---------------------------------------------------------------------


def test_planting_prints_the_new_ids_one_per_line_last() -> None:
    out = io.StringIO()
    call_command("plant_honeytokens", "--count", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and not TOKEN_ID.match(lines[0])
    assert all(TOKEN_ID.match(line) for line in lines[1:])
    assert len(set(lines[1:])) == 3
    for token_id in lines[1:]:
        assert raw_item(token_id)["tokenId"] == {"S": token_id}


def test_planting_takes_the_fields_asked_for(full_api: Api) -> None:
    [decoy] = plant(1, "card_number,cvc,ssn,email,full_name")
    data = full_api.post("/api/v1/detokenize", {"tokenId": decoy}).json()["data"]
    assert sorted(data) == ["card_number", "cvc", "email", "full_name", "ssn"]


def test_planting_refuses_a_count_out_of_range() -> None:
    with pytest.raises(CommandError, match="Plant 1 to 1000 decoys at a time."):
        call_command("plant_honeytokens", "--count", "0", stdout=io.StringIO())


def test_planting_refuses_a_bad_field_name() -> None:
    with pytest.raises(CommandError, match="fields: a field name is 1-64 letters"):
        call_command("plant_honeytokens", "--count", "1", "--fields", "card number", stdout=io.StringIO())


def test_planting_stopped_by_an_outage_keeps_the_ids_it_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens import dynamo
    from tokens.errors import Unavailable

    real_write = dynamo.transact_write
    calls = []

    def second_fails(items: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise Unavailable("DynamoDB is unavailable; retry later.")
        real_write(items)

    monkeypatch.setattr(dynamo, "transact_write", second_fails)
    out = io.StringIO()
    with pytest.raises(
        CommandError, match=r"retry later\. \(stopped after 1 of 3; the ids above were planted\)"
    ):
        call_command("plant_honeytokens", "--count", "3", stdout=out)
    [header, planted] = out.getvalue().splitlines()
    assert header.startswith("Planting 3 decoy token(s)") and TOKEN_ID.match(planted)
    assert honeytokens.is_decoy(planted)


def test_planting_is_audited_without_naming_the_decoys() -> None:
    decoys = plant(2)
    [record] = [r for r in audit_records() if r["action"] == "plant_honeytokens"]
    assert (record["outcome"], record["detail"], record["actor"]) == ("success", "2 decoys", "(command line)")
    assert not any(d in json.dumps(audit_records()) for d in decoys)


# --- they look like any token -------------------------------------------------------


def layout(item: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Each attribute's DynamoDB type and size (a string set: its members' sizes)."""
    shape = {}
    for name, value in item.items():
        ((kind, inner),) = value.items()
        size = sum(len(v) for v in inner) if kind == "SS" else len(inner)
        shape[name] = (kind, size)
    return shape


def test_a_decoy_item_is_laid_out_exactly_as_a_real_token_with_the_same_fields() -> None:
    [decoy] = plant(creator="system:test")  # as the token list names SETUP, the real tokens' creator
    real = real_token()
    decoy_item, real_item = raw_item(decoy), raw_item(real)
    assert layout(decoy_item) == layout(real_item)
    # Each field's fingerprint row, the record's, and the token-list row.
    assert len(decoy_item["*vault-index*"]["SS"]) == len(real_item["*vault-index*"]["SS"]) == 4
    assert int(decoy_item["TTL"]["N"]) - int(decoy_item["createdAt"]["N"]) == settings.VAULT_DEFAULT_RETENTION


def test_decoys_are_listed_as_made_by_the_creator_they_are_planted_among() -> None:
    [default] = plant()
    [among] = plant(creator="client:7")
    rows = aws.client("dynamodb").scan(TableName=settings.VAULT_INDEX_TABLE)["Items"]
    listed = {
        r["sk"]["S"].split("#")[1]: r["sk"]["S"].split("#")[2] for r in rows if r["fp"]["S"].startswith("l:")
    }
    assert listed[default] == "system:cli" and listed[among] == "client:7"
    with pytest.raises(CommandError, match="actor id"):
        plant(creator="client 7")


def test_decoy_values_look_real_and_are_never_valid(full_api: Api) -> None:
    decoys = plant(20, "card_number,cvc,ssn")
    for decoy in decoys:
        data = full_api.post("/api/v1/detokenize", {"tokenId": decoy}).json()["data"]
        card = data["card_number"]
        assert re.fullmatch(r"(4|5[1-5])[0-9]{14,15}", card) and len(card) == 16
        assert not fieldtypes.luhn_ok(card)
        assert re.fullmatch(r"[0-9]{3}", data["cvc"])
        assert re.fullmatch(r"9[0-9]{2}-[0-9]{2}-[0-9]{4}", data["ssn"])
        for name in ("card_number", "ssn"):
            with pytest.raises(fieldtypes.TypeMismatch):
                fieldtypes.normalize(name, data[name])


def test_a_masked_decoy_is_masked_as_a_real_card_is(full_api: Api) -> None:
    [decoy] = plant()
    real = real_token()
    for token in (real, decoy):
        data = full_api.post("/api/v1/detokenize", {"tokenId": token, "mask": True}).json()["data"]
        assert re.fullmatch("•{12}[0-9]{4}", data["card_number"]), data
        assert data["cvc"] == "•••"


def test_the_decoy_table_holds_keyed_hmacs_never_the_ids() -> None:
    decoys = plant(3)
    rows = [r for r in decoy_rows() if r["pk"]["S"] == honeytokens.DECOYS]
    assert len(rows) == 3
    text = json.dumps(rows)
    for decoy in decoys:
        assert decoy not in text and decoy.removeprefix("TKN-SYD-") not in text
        assert hashlib.sha256(decoy.encode()).hexdigest() not in text  # keyed, not a plain hash
    key_id, _ = settings.VAULT_KEYRINGS.current("AUDIT_HMAC_KEY")
    assert sorted(r["sk"]["S"] for r in rows) == sorted(honeytokens.mark(d, key_id) for d in decoys)


def test_decoys_planted_before_a_rotation_of_the_audit_key_are_still_caught(
    full_api: Api, settings: Any
) -> None:
    from vaultsite import secrets as vault_secrets

    [before] = plant()
    rings = dict(settings.VAULT_KEYRINGS.rings)
    old = rings["AUDIT_HMAC_KEY"]
    rings["AUDIT_HMAC_KEY"] = vault_secrets.Keyring("2", {**old.values, "2": "a-newer-audit-key"})
    settings.VAULT_KEYRINGS = vault_secrets.Keyrings(rings, "", "", "")
    [after] = plant()
    key_ids = sorted(r["key_id"]["S"] for r in decoy_rows() if r["pk"]["S"] == honeytokens.DECOYS)
    assert key_ids == ["1", "2"]
    for decoy in (before, after):
        full_api.get(f"/api/v1/tokens/{decoy}")
    assert [r["token_id"] for r in honeytoken_records()] == [before, after]


def test_nothing_in_the_vault_table_sets_decoys_apart() -> None:
    decoys = set(plant(3, creator="system:test"))
    reals = {real_token() for _ in range(3)}
    items = aws.client("dynamodb").scan(TableName=settings.VAULT_TABLE)["Items"]
    tokens = [i for i in items if i["tokenId"]["S"] in decoys | reals]
    layouts = {json.dumps(layout(i), sort_keys=True) for i in tokens}
    assert len(tokens) == 6 and len(layouts) == 1


# --- every way in answers as for a real token, and records the use ------------------


def normalized(answer: Any) -> str:
    """An answer with what differs between any two tokens taken out: ids, digits, per-request secrets."""
    text = answer if isinstance(answer, str) else json.dumps(answer, sort_keys=True)
    text = ANY_TOKEN_ID.sub("TOKEN", text)
    text = re.sub(r'(csrfmiddlewaretoken" value=|nonce=)"[^"]*"', r'\1"X"', text)
    return re.sub(r"[0-9]+", "9", text)


def api_call(method: str, path: str, body: Callable[[str], Any] | None = None) -> Callable[..., str]:
    def call(token: str, ctx: dict[str, Any]) -> str:
        api: Api = ctx["api"]
        url = path.format(token=token)
        response = (
            api.get(url)
            if method == "GET"
            else api.delete(url)
            if method == "DELETE"
            else getattr(api, method.lower())(url, body(token) if body else None)
        )
        return f"{response.status_code} {normalized(response.json() if response.content else '')}"

    return call


def page_call(role: str, path: str, form: Callable[[str], dict[str, str]]) -> Callable[..., str]:
    def call(token: str, ctx: dict[str, Any]) -> str:
        response = fresh_client(ctx["operators"][role]).post(path, form(token))
        return f"{response.status_code} {normalized(response.content.decode())}"

    return call


def lambda_call(token: str, ctx: dict[str, Any]) -> str:
    with load_stage("syd_reader", ctx["tmp_path"], settings) as reader:
        return normalized(lambda_handler({"tokenId": token}, reader.context()))


def later() -> int:
    return int(time.time()) + 7200


def later_input() -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(later()))


PATHS: dict[str, tuple[str, Callable[..., str]]] = {
    "api detokenize": ("detokenize", api_call("POST", "/api/v1/detokenize", lambda t: {"tokenId": t})),
    "api masked detokenize": (
        "detokenize",
        api_call("POST", "/api/v1/detokenize", lambda t: {"tokenId": t, "mask": True}),
    ),
    "api batch detokenize": (
        "detokenize",
        api_call("POST", "/api/v1/detokenize/batch", lambda t: {"tokens": [{"tokenId": t}]}),
    ),
    "api metadata": ("metadata", api_call("GET", "/api/v1/tokens/{token}")),
    "api change of expiry": (
        "change_expiry",
        api_call("PATCH", "/api/v1/tokens/{token}", lambda t: {"TTL": later()}),
    ),
    "api delete": ("delete", api_call("DELETE", "/api/v1/tokens/{token}")),
    "page reveal": (
        "detokenize",
        page_call("detokenizer", "/reveal", lambda t: {"token": t, "reason": REASON}),
    ),
    "page lookup": ("metadata", page_call("everyone", "/lookup", lambda t: {"token": t})),
    "page change of expiry": (
        "change_expiry",
        page_call(
            "ttl_manager", "/expiry", lambda t: {"step": "change", "token": t, "expires": later_input()}
        ),
    ),
    "page purge": (
        "delete",
        page_call("ttl_manager", "/expiry", lambda t: {"step": "purge", "token": t, "confirm": "yes"}),
    ),
    "direct lambda event": ("detokenize", lambda_call),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_way_in_answers_a_decoy_as_a_real_token_and_records_a_honeytoken(
    path: str, full_api: Api, operators: dict[str, Any], tmp_path: Path
) -> None:
    action, call = PATHS[path]
    [decoy] = plant()
    real = real_token()
    ctx = {"api": full_api, "operators": operators, "tmp_path": tmp_path}
    real_answer = call(real, ctx)
    assert real_answer.startswith(("200 ", "204 ", '{"TTL"')), real_answer[:300]
    assert honeytoken_records() == []
    assert call(decoy, ctx) == real_answer
    [record] = honeytoken_records()
    assert (record["action"], record["token_id"]) == (action, decoy)
    assert record["detail"] == "decoy token used; the operation's outcome: success"
    [hit] = honeytokens.hits("SYD", datetime.fromtimestamp(0, tz=UTC))
    assert (hit.action, hit.token_ids, hit.outcome) == (action, [decoy], "success")


def test_a_refused_operation_on_a_decoy_is_a_honeytoken_too(db: Any) -> None:
    [decoy] = plant()
    reader = make_api(["metadata"], "nosy")
    assert reader.post("/api/v1/detokenize", {"tokenId": decoy}).status_code == 403
    [record] = honeytoken_records()
    assert record["detail"] == "decoy token used; the operation's outcome: denied"
    assert (record["actor"], record["actor_type"]) == ("nosy", "api_client")


def test_a_refused_batch_naming_a_decoy_is_a_honeytoken_too(db: Any) -> None:
    [decoy] = plant()
    real = real_token()
    nosy = make_api(["metadata"], "nosy")
    body = {"tokens": [{"tokenId": real}, {"tokenId": decoy}]}
    assert nosy.post("/api/v1/detokenize/batch", body).status_code == 403
    [record] = honeytoken_records()
    assert (record["token_id"], record["actor"]) == (decoy, "nosy")
    assert record["detail"] == "decoy token used; the operation's outcome: denied"


def test_a_batch_names_only_its_decoys_in_the_honeytoken_record(full_api: Api) -> None:
    decoys = plant(2)
    real = real_token()
    entries = [{"tokenId": t} for t in (real, decoys[0], decoys[1])]
    response = full_api.post("/api/v1/detokenize/batch", {"tokens": entries})
    assert [sorted(r) for r in response.json()["results"]] == [["TTL", "data", "tokenId"]] * 3
    [record] = honeytoken_records()
    assert sorted(record["token_ids"]) == sorted(decoys) and real not in json.dumps(record)


# --- alerts at once, naming the caller ----------------------------------------------


def check_anomalies() -> str:
    out = io.StringIO()
    call_command("check_anomalies", stdout=out)
    return out.getvalue()


def test_check_anomalies_reports_a_use_at_once_naming_the_caller(db: Any) -> None:
    [decoy] = plant()
    thief = make_api(["detokenize"], "billing-export")
    assert thief.post("/api/v1/detokenize", {"tokenId": decoy}).status_code == 200
    from tokens.models import ApiClient

    client_id = ApiClient.objects.get(name="billing-export").pk
    [line] = [line for line in check_anomalies().splitlines() if "HONEYTOKEN" in line]
    assert line.startswith(
        f"SYD HONEYTOKEN: detokenize of decoy token {decoy} by api_client client:{client_id} "
    )
    assert "(billing-export) via api" in line
    assert line.endswith("(ALERTS_SNS_TOPIC_ARN is not set; nothing sent)")


def test_an_operator_revealing_a_decoy_is_named_too(operators: dict[str, Any]) -> None:
    [decoy] = plant()
    user = operators["detokenizer"]
    assert fresh_client(user).post("/reveal", {"token": decoy, "reason": REASON}).status_code == 200
    [line] = [line for line in check_anomalies().splitlines() if "HONEYTOKEN" in line]
    assert f"by operator user:{user.pk} (detokenizer) via ui" in line


def test_sns_receives_one_alert_per_use_naming_the_caller(inbox: Callable[[], list[dict[str, str]]]) -> None:
    [decoy] = plant()
    thief = make_api(["detokenize"], "billing-export")
    assert thief.post("/api/v1/detokenize", {"tokenId": decoy}).status_code == 200
    from tokens.models import ApiClient

    client_id = ApiClient.objects.get(name="billing-export").pk
    assert "(sent)" in check_anomalies()
    [message] = inbox()
    assert message["Subject"] == f"Token vault SYD: HONEYTOKEN used by api_client client:{client_id}"
    assert f"Who: api_client client:{client_id} (billing-export), via api" in message["Message"]
    assert f"What: detokenize of decoy token {decoy}" in message["Message"]
    assert f"actor=client%3A{client_id}&outcome=honeytoken" in message["Message"]
    assert "4973172240660003" not in message["Message"]
    # Reported again by the next run, but sent only once.
    assert "(alert sent earlier)" in check_anomalies()
    assert inbox() == []


def test_a_failed_send_is_tried_again_at_the_next_check(
    inbox: Callable[[], list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    [decoy] = plant()
    make_api(["detokenize"], "billing-export").post("/api/v1/detokenize", {"tokenId": decoy})

    def down(*args: Any) -> str:
        raise monitoring_aws.MonitoringUnavailable("SNS is unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(monitoring_aws, "publish", down)
        assert "(SNS is unavailable)" in check_anomalies()
    assert inbox() == []
    assert "(sent)" in check_anomalies()
    assert len(inbox()) == 1


# --- kept out of the metrics, cheap to check, never in the way ----------------------


def test_decoys_are_left_out_of_the_metrics(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitoring import metrics

    [decoy] = plant()
    real = real_token()
    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(metrics, "record", lambda op, outcome, *_: counted.append((op, outcome)))
    full_api.post("/api/v1/detokenize", {"tokenId": decoy})
    full_api.get(f"/api/v1/tokens/{decoy}")
    assert counted == []
    full_api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": real}, {"tokenId": decoy}]})
    full_api.post("/api/v1/detokenize", {"tokenId": real})
    assert counted == [("detokenize", "success")] * 2


def test_the_check_reads_the_decoy_set_once_per_cache_period(full_api: Api, aws_calls: CallLog) -> None:
    [decoy] = plant()
    real = real_token()
    full_api.get(f"/api/v1/tokens/{real}")
    aws_calls.clear()
    for _ in range(3):
        full_api.get(f"/api/v1/tokens/{real}")
    assert aws_calls.calls == [("dynamodb", "GetItem"), ("dynamodb", "PutItem")] * 3  # no Query
    full_api.get(f"/api/v1/tokens/{decoy}")
    assert aws_calls.count("dynamodb", "Query") == 0


def test_a_decoy_table_that_does_not_answer_never_fails_a_request(full_api: Api, settings: Any) -> None:
    real = real_token()
    settings.VAULT_DECOY_TABLE = "no-such-table"
    assert full_api.post("/api/v1/detokenize", {"tokenId": real}).status_code == 200
    assert full_api.get(f"/api/v1/tokens/{real}").status_code == 200


# --- the monitoring page --------------------------------------------------------------


def test_the_monitoring_page_shows_a_use_above_everything_else(operators: dict[str, Any]) -> None:
    [decoy] = plant()
    thief = make_api(["detokenize"], "billing-export")
    thief.post("/api/v1/detokenize", {"tokenId": decoy})
    page = fresh_client(operators["auditor"]).get("/monitoring/").content.decode()
    assert 'class="honeytokens" role="alert"' in page
    assert page.index('id="honeytokens-title"') < page.index('id="status-title"')
    assert "(billing-export)" in page and f"decoy token {decoy}" in page
    assert "outcome=honeytoken" in page


def test_without_uses_the_page_shows_no_honeytoken_section(operators: dict[str, Any]) -> None:
    plant()
    page = fresh_client(operators["auditor"]).get("/monitoring/").content.decode()
    assert "honeytokens-title" not in page
