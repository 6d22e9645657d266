"""Our Lambda entry invoked in-process as Lambda would, with API Gateway v1
and v2 proxy events that it hands to Zappa."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from zappa.handler import LambdaHandler

from tests.conftest import MARKER, make_api
from tests.lambda_events import apigw_v1, apigw_v2, load_stage, response_json
from vaultsite.lambda_handler import lambda_handler, zappa_branches


@pytest.fixture
def keys(db: Any) -> dict[str, str]:
    return {
        "writer": make_api(["tokenize"], "svc-writer").key or "",
        "reader": make_api(["detokenize", "metadata"], "svc-reader").key or "",
    }


def later(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


@pytest.mark.parametrize("event_of", [apigw_v1, apigw_v2], ids=["v1", "v2"])
def test_a_token_minted_by_the_writer_function_is_revealed_by_the_reader_function(
    event_of: Any, tmp_path: Path, settings: Any, keys: dict[str, str]
) -> None:
    ttl = later()
    with load_stage("syd_writer", tmp_path, settings) as writer:
        event = event_of(
            writer.stage, "POST", "/api/v1/tokens", {"data": {"pan": MARKER, "TTL": ttl}}, keys["writer"]
        )
        response = lambda_handler(event, writer.context())
    assert response["statusCode"] == 201
    created = response_json(response)
    assert created["tokenId"].startswith("TKN-SYD-") and created["TTL"] == ttl
    assert MARKER not in str(response)

    with load_stage("syd_reader", tmp_path, settings) as reader:
        event = event_of(
            reader.stage, "POST", "/api/v1/detokenize", {"tokenId": created["tokenId"]}, keys["reader"]
        )
        response = lambda_handler(event, reader.context())
        assert response["statusCode"] == 200
        assert response_json(response) == {"tokenId": created["tokenId"], "data": {"pan": MARKER}, "TTL": ttl}

        event = event_of(reader.stage, "GET", f"/api/v1/tokens/{created['tokenId']}", None, keys["reader"])
        response = lambda_handler(event, reader.context())
        assert response["statusCode"] == 200
        assert response_json(response)["fields"] == ["pan"]


def test_a_base64_encoded_v1_body_is_read(tmp_path: Path, settings: Any, keys: dict[str, str]) -> None:
    with load_stage("syd_writer", tmp_path, settings) as writer:
        event = apigw_v1(
            writer.stage, "POST", "/api/v1/tokens", {"data": {"pan": "1"}}, keys["writer"], base64_body=True
        )
        assert lambda_handler(event, writer.context())["statusCode"] == 201


def test_the_api_request_path_touches_no_relational_database(
    tmp_path: Path, settings: Any, keys: dict[str, str], django_assert_num_queries: Any
) -> None:
    with load_stage("syd_writer", tmp_path, settings) as writer:
        event = apigw_v1(writer.stage, "POST", "/api/v1/tokens", {"data": {"pan": "1"}}, keys["writer"])
        with django_assert_num_queries(0):
            assert lambda_handler(event, writer.context())["statusCode"] == 201


@pytest.mark.parametrize("stage", ["syd_writer", "syd_reader"])
def test_request_path_functions_answer_json_with_security_headers_and_no_cookie(
    stage: str, tmp_path: Path, settings: Any, keys: dict[str, str]
) -> None:
    # Writer and reader skip the pages' middleware (sessions, CSRF, CSP): what an API
    # answer must carry still comes, and nothing sets a cookie or is cached.
    with load_stage(stage, tmp_path, settings) as function:
        if function.role == "writer":
            event = apigw_v1(function.stage, "POST", "/api/v1/tokens", {"data": {"pan": "1"}}, keys["writer"])
            expected = 201
        else:
            event = apigw_v1(function.stage, "GET", "/api/v1/tokens/TKN-SYD-nope", None, keys["reader"])
            expected = 404
        response = lambda_handler(event, function.context())
    headers = {k.lower(): v for k, v in response["multiValueHeaders"].items()}
    assert response["statusCode"] == expected
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["cache-control"] == ["no-store"]
    assert "set-cookie" not in headers


def test_a_writer_function_has_no_detokenize_endpoint(
    tmp_path: Path, settings: Any, keys: dict[str, str]
) -> None:
    with load_stage("syd_writer", tmp_path, settings) as writer:
        event = apigw_v1(writer.stage, "POST", "/api/v1/detokenize", {"tokenId": "TKN-SYD-x"}, keys["reader"])
        response = lambda_handler(event, writer.context())
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "no_such_endpoint"


def test_a_reader_function_has_no_tokenize_endpoint(
    tmp_path: Path, settings: Any, keys: dict[str, str]
) -> None:
    with load_stage("syd_reader", tmp_path, settings) as reader:
        event = apigw_v2(reader.stage, "POST", "/api/v1/tokens", {"data": {"pan": MARKER}}, keys["writer"])
        response = lambda_handler(event, reader.context())
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "no_such_endpoint"
    assert MARKER not in str(response)


def test_the_health_endpoints_answer_on_every_function(tmp_path: Path, settings: Any) -> None:
    for name in ("syd_writer", "syd_reader", "syd_operator"):
        with load_stage(name, tmp_path, settings) as stage:
            for path in ("/healthz", "/readyz"):
                response = lambda_handler(apigw_v1(stage.stage, "GET", path), stage.context())
                assert (name, path, response["statusCode"]) == (name, path, 200)


def test_a_value_put_where_a_token_goes_stays_out_of_the_logs(
    tmp_path: Path, settings: Any, keys: dict[str, str], caplog: Any, capsys: Any
) -> None:
    with load_stage("syd_reader", tmp_path, settings) as reader:
        event = apigw_v1(reader.stage, "GET", f"/api/v1/tokens/{MARKER}", None, keys["reader"])
        response = lambda_handler(event, reader.context())
    assert response["statusCode"] == 404
    captured = capsys.readouterr()
    assert MARKER not in caplog.text + captured.out + captured.err + str(response)


def test_an_allowed_manage_command_is_handed_to_zappa_on_the_operator(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Any] = []
    monkeypatch.setattr("django.core.management.call_command", lambda *args: ran.append(args))
    with load_stage("syd_operator", tmp_path, settings) as operator:
        lambda_handler({"manage": "migrate --noinput"}, operator.context())
    assert ran == [("migrate", "--noinput")]


def test_a_keep_warm_event_is_handed_to_zappa(tmp_path: Path, settings: Any) -> None:
    event = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [
            "arn:aws:events:ap-southeast-2:111122223333:rule/token-vault-syd-writer-zappa-keep-warm-handler.keep_warm_callback"
        ],
    }
    with load_stage("syd_writer", tmp_path, settings) as writer:
        assert lambda_handler(event, writer.context()) is None


REFUSED = {"error": {"code": "forbidden", "message": "This function does not serve that kind of event."}}
SCHEDULE_ARN = "arn:aws:events:ap-southeast-2:111122223333:rule/token-vault-syd-operator-"


@pytest.mark.parametrize(
    "event",
    [
        {"raw_command": "raise SystemExit('ran')"},
        {"command": "os.getcwd"},
        {"manage": "shell -c print(1)"},
        {"manage": "dbshell"},
        {"manage": ["migrate"]},
        {"Records": [{"s3": {"configurationId": "x:subprocess.run"}}]},
        {"Records": [{"Sns": {"Message": '{"command": "subprocess.run"}'}}]},
        {"detail-type": "Scheduled Event", "resources": [SCHEDULE_ARN + "subprocess.run"]},
        {"detail-type": "Scheduled Event", "resources": "not a list"},
        {"httpMethod": "GET", "requestContext": {}, "manage": "shell"},
        {"httpMethod": "GET", "requestContext": {}, "stageVariables": {"AUDIT_HMAC_KEY": "x"}},
        {"awslogs": {"data": "x"}},
        {"bot": {"name": "x"}, "currentIntent": {}},
        {"triggerSource": "PreSignUp_SignUp"},
        {"type": "TOKEN", "methodArn": "x"},
        {"somethingElse": 1},
        {"manage": "migrate", "httpMethod": "GET"},
        {"manage": "migrate", "version": "2.0"},
        {"manage": "migrate", "httpMethod": "", "requestContext": {}},
        {
            "detail-type": "Scheduled Event",
            "resources": [SCHEDULE_ARN + "keep_warm_callback"],
            "httpMethod": "GET",
        },
        {"httpMethod": "GET", "requestContext": {"eventType": "CONNECT"}},
        {"tokenId": "TKN-SYD-x", "httpMethod": "GET"},
    ],
    ids=[
        "raw_command", "command", "manage-shell", "manage-dbshell", "manage-list", "s3", "sns",
        "schedule-other-function", "schedule-bad", "http-with-manage", "stage-variables", "awslogs",
        "lex", "cognito", "authorizer", "unknown", "manage-with-http-method", "manage-with-version",
        "manage-with-empty-http-method", "schedule-with-http-method", "http-websocket",
        "direct-with-http-method",
    ],
)  # fmt: skip
def test_events_that_would_run_code_are_refused(event: dict[str, Any], tmp_path: Path, settings: Any) -> None:
    with load_stage("syd_operator", tmp_path, settings) as operator:
        assert lambda_handler(event, operator.context()) == REFUSED


def test_an_allowed_command_that_zappa_would_serve_as_http_is_refused_and_never_reaches_django(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Zappa tries httpMethod before manage: this event would be served as an
    # HTTP request without API Gateway's request context.
    served: list[Any] = []
    monkeypatch.setattr(LambdaHandler, "handler", lambda self, event, context: served.append(event))
    with load_stage("syd_operator", tmp_path, settings) as operator:
        event = {"manage": "migrate", "httpMethod": "GET", "path": "/api/v1/tokens", "headers": {}}
        assert lambda_handler(event, operator.context()) == REFUSED
    assert served == []


def test_zappa_branches_follow_zappas_own_order() -> None:
    # The order of LambdaHandler.handler() in Zappa 0.63 (zappa/handler.py).
    event = {
        "version": "2.0", "httpMethod": "GET", "requestContext": {"eventType": "MESSAGE"},
        "detail-type": "Scheduled Event", "command": "x", "raw_command": "x", "manage": "x",
        "Records": [1], "bot": {"x": 1}, "type": "TOKEN", "triggerSource": "x", "awslogs": {"x": 1},
    }  # fmt: skip
    assert zappa_branches(event) == [
        "http_v2", "http_v1", "websocket", "schedule", "command", "raw_command", "manage",
        "records", "bot", "authorizer", "cognito", "awslogs",
    ]  # fmt: skip
    assert zappa_branches({"manage": "", "httpMethod": None, "version": "1.0"}) == []


def test_manage_commands_are_refused_on_request_path_functions(tmp_path: Path, settings: Any) -> None:
    with load_stage("syd_reader", tmp_path, settings) as reader:
        assert lambda_handler({"manage": "migrate"}, reader.context()) == REFUSED


def test_the_anomaly_check_schedule_is_handed_to_zappa(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Any] = []
    monkeypatch.setattr("monitoring.scheduled.call_command", lambda *args: ran.append(args))
    event = {
        "detail-type": "Scheduled Event",
        "resources": [SCHEDULE_ARN + "monitoring.scheduled.check_anomalies"],
    }
    with load_stage("syd_operator", tmp_path, settings) as operator:
        lambda_handler(event, operator.context())
    assert ran == [("check_anomalies",)]


def test_the_audit_records_the_address_api_gateway_saw_not_a_forged_header(
    tmp_path: Path, settings: Any, keys: dict[str, str]
) -> None:
    from tests.conftest import audit_records

    with load_stage("syd_reader", tmp_path, settings) as reader:
        event = apigw_v1(reader.stage, "GET", "/api/v1/tokens/zzzz", None, keys["reader"])
        event["headers"]["X-Forwarded-For"] = "10.9.8.7, 203.0.113.7, 130.176.1.1"
        event["multiValueHeaders"]["X-Forwarded-For"] = [event["headers"]["X-Forwarded-For"]]
        event["requestContext"]["identity"]["sourceIp"] = "198.51.100.23"
        lambda_handler(event, reader.context())
    assert audit_records()[-1]["source_ip"] == "198.51.100.23"
