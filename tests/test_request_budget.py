"""A request's AWS calls share one budget (VAULT_REQUEST_BUDGET): a hung or
broken dependency ends in 503 `unavailable` with Retry-After within the budget
plus a second, and nothing is half-written.

The time bounds below are correctness bounds (an answer, not a hang), set far
from any speed a machine might have."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Api, audit_records, error_of
from tokens import audit, aws, budget, crypto, dynamo
from tokens.errors import Unavailable

BUDGET = 1.0
# The target is the budget plus 1 s; the bound allows another second for a
# machine busy with other test runs. Without the budget a hung call would take
# AWS_MAX_ATTEMPTS x AWS_READ_TIMEOUT (15 s) or forever.
SLACK = 2.0


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections (the kernel's backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture
def dropping_endpoint() -> Iterator[str]:
    """An endpoint that accepts each connection and closes it at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def point_at(settings: Any, endpoint: str) -> None:
    """Send the vault's AWS calls to `endpoint`. The clients are built here, before
    any clock starts: building one is start-up work, not a call to AWS."""
    settings.AWS_ENDPOINT_URL = endpoint
    aws.client("kms")
    aws.client("dynamodb")


def data_items() -> int:
    return len(tokens_in_table())


def tokens_in_table() -> set[str]:
    """Token ids of the items table: not the canary item vault_bootstrap writes for /readyz."""
    return {
        i["tokenId"]["S"] for i in dynamo.scan(settings.VAULT_TABLE) if i["tokenId"]["S"].startswith("TKN-")
    }


def assert_nothing_half_written() -> None:
    """Every success record of a write has its item, and every item its record."""
    records = audit_records()
    written = {r["token_id"] for r in records if r["action"] == "tokenize" and r["outcome"] == "success"}
    items = tokens_in_table()
    assert written == items
    assert audit.verify(records).ok


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_tokenize_with_dynamodb_and_kms_hung_answers_503_within_the_budget(
    full_api: Api, settings: Any, silent_endpoint: str
) -> None:
    full_api.tokenize({"pan": "4111"})  # the key is remembered: the hang meets the vault itself
    settings.VAULT_REQUEST_BUDGET = BUDGET
    point_at(settings, silent_endpoint)
    response, took = timed(lambda: full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}}))
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert response["Retry-After"] == "5"
    assert took < BUDGET + SLACK
    settings.AWS_ENDPOINT_URL = ""
    assert data_items() == 1
    assert_nothing_half_written()


def test_detokenize_with_dependencies_hung_answers_503_and_no_value(
    full_api: Api, settings: Any, silent_endpoint: str
) -> None:
    token = full_api.tokenize({"pan": "4111-HUNG"})
    settings.VAULT_REQUEST_BUDGET = BUDGET
    point_at(settings, silent_endpoint)
    response, took = timed(lambda: full_api.post("/api/v1/detokenize", {"tokenId": token}))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "4111-HUNG" not in response.content.decode()
    assert took < BUDGET + SLACK


def test_a_dropped_connection_answers_503_not_500(
    full_api: Api, settings: Any, dropping_endpoint: str
) -> None:
    full_api.tokenize({"pan": "4111"})
    settings.VAULT_REQUEST_BUDGET = BUDGET
    point_at(settings, dropping_endpoint)
    response, took = timed(lambda: full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}}))
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert took < BUDGET + SLACK
    settings.AWS_ENDPOINT_URL = ""
    assert_nothing_half_written()


@pytest.mark.parametrize(
    ("mode", "operation"),
    [("cached", "decrypt"), ("kms-per-item", "generate_data_key")],  # loading a key version; a data key
)
def test_kms_dropping_the_connection_while_sealing_is_503_not_500(
    full_api: Api, monkeypatch: pytest.MonkeyPatch, settings: Any, mode: str, operation: str
) -> None:
    def dropped(**kwargs: Any) -> Any:
        raise botocore.exceptions.ConnectionClosedError(endpoint_url="https://kms")

    settings.VAULT_KEY_MODE = mode
    crypto.reset()  # a fresh process: nothing loaded yet
    monkeypatch.setattr(aws.client("kms"), operation, dropped)
    response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert response["Retry-After"] == "5"
    assert data_items() == 0


def test_readyz_answers_within_two_seconds_while_dependencies_hang(
    db: Any, settings: Any, silent_endpoint: str
) -> None:
    point_at(settings, silent_endpoint)
    response, took = timed(lambda: Client().get("/readyz"))
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"
    assert took < 2.0


def hang_before_landing(request: Any, **kwargs: Any) -> None:
    # A server that never answers: the attempt ends at its read timeout.
    time.sleep(request.context.get("read_timeout", settings.AWS_READ_TIMEOUT))
    raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)


def test_a_write_that_hangs_past_the_budget_writes_nothing(full_api: Api, settings: Any) -> None:
    full_api.tokenize({"pan": "4111"})
    settings.VAULT_REQUEST_BUDGET = BUDGET
    events = aws.client("dynamodb").meta.events
    events.register_first("before-send.dynamodb.TransactWriteItems", hang_before_landing)
    try:
        response, took = timed(lambda: full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}}))
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", hang_before_landing)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert took < BUDGET + SLACK
    assert data_items() == 1
    assert_nothing_half_written()


def test_a_write_whose_answer_is_lost_leaves_item_and_record_together(full_api: Api) -> None:
    full_api.tokenize({"pan": "4111"})
    lost: list[str] = []

    def lose_the_first_answer(request: Any, **kwargs: Any) -> None:
        # Registered last on the generic event: runs after the emulator applied the write.
        if b"TransactWriteItems" in request.headers.get("X-Amz-Target", b"") and not lost:
            lost.append(request.url)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    events = aws.client("dynamodb").meta.events
    events.register_last("before-send", lose_the_first_answer)
    try:
        response = full_api.post("/api/v1/tokens", {"data": {"pan": "4111"}})
    finally:
        events.unregister("before-send", lose_the_first_answer)
    # The retry finds its own write; without AWS's request token that is an unknown outcome.
    assert response.status_code == 503
    assert data_items() == 2
    assert_nothing_half_written()
    full_api.tokenize({"pan": "4111"})  # a new chain starts; the log still verifies
    assert_nothing_half_written()


def test_retries_stop_when_the_budget_is_spent(settings: Any) -> None:
    settings.AWS_MAX_ATTEMPTS = 50
    attempts: list[float] = []

    def slow_and_dropped(request: Any, **kwargs: Any) -> None:
        attempts.append(time.monotonic())
        time.sleep(0.1)
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    events = aws.client("dynamodb").meta.events
    events.register_first("before-send.dynamodb.GetItem", slow_and_dropped)
    try:
        with budget.within(0.5), pytest.raises(Unavailable):
            dynamo.get_item(settings.VAULT_TABLE, {"tokenId": {"S": "x"}})
    finally:
        events.unregister("before-send.dynamodb.GetItem", slow_and_dropped)
    assert 2 <= len(attempts) <= 5
    assert attempts[-1] - attempts[0] < 0.5


def test_outside_a_request_a_call_is_tried_aws_max_attempts_times(settings: Any) -> None:
    settings.AWS_MAX_ATTEMPTS = 3
    attempts: list[str] = []

    def dropped(request: Any, **kwargs: Any) -> None:
        attempts.append(request.url)
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    events = aws.client("dynamodb").meta.events
    events.register_first("before-send.dynamodb.GetItem", dropped)
    try:
        with pytest.raises(Unavailable):
            dynamo.get_item(settings.VAULT_TABLE, {"tokenId": {"S": "x"}})
    finally:
        events.unregister("before-send.dynamodb.GetItem", dropped)
    assert len(attempts) == 3


def test_a_page_whose_dependency_hangs_answers_503_with_retry_after(
    operators: dict[str, Any], settings: Any, silent_endpoint: str
) -> None:
    from tests.conftest import fresh_client

    browser = fresh_client(operators["tokenizer"])
    assert browser.post("/tokenize", {"name": ["pan"], "value": ["4111"]}).status_code == 200
    settings.VAULT_REQUEST_BUDGET = BUDGET
    point_at(settings, silent_endpoint)
    response, took = timed(lambda: browser.post("/tokenize", {"name": ["pan"], "value": ["4111-PAGE"]}))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"4111-PAGE" not in response.content
    assert took < BUDGET + SLACK


def test_the_budget_counts_from_the_start_of_the_request() -> None:
    with budget.within(0.5):
        time.sleep(0.6)  # work before the first AWS call still counts
        with pytest.raises(Unavailable):
            dynamo.get_item(settings.VAULT_TABLE, {"tokenId": {"S": "x"}})
