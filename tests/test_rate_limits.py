"""Per-client rate limits: batches gain a scraper nothing on reads, a migration
tokenizes at full speed, and an operator raises one client's limit."""

from __future__ import annotations

from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import Api, audit_records, error_of
from tokens import ratelimit
from tokens.models import ApiClient

SCOPES = ["tokenize", "detokenize", "metadata"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The rate limiter's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def client(name: str, rate_limit: int | None = None) -> Api:
    _, key = ApiClient.issue(name, SCOPES, rate_limit=rate_limit)
    return Api(key)


def command(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def metadata_statuses(api: Api, n: int) -> list[int]:
    return [api.get("/api/v1/tokens/zzzz").status_code for _ in range(n)]


def detokenize_batch(api: Api, token: str, n: int) -> Any:
    return api.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": token}] * n})


def test_a_client_s_own_limit_replaces_the_default(db: Any, settings: Any) -> None:
    settings.VAULT_API_RATE_LIMIT = 600
    assert metadata_statuses(client("slow", rate_limit=3), 4) == [404, 404, 404, 429]
    assert metadata_statuses(client("other"), 4) == [404] * 4  # the default, and its own window


def test_a_429_has_the_one_error_shape_and_retry_after_until_room_frees(db: Any, clock: list[float]) -> None:
    api = client("slow", rate_limit=3)
    metadata_statuses(api, 2)
    clock[0] += 20
    metadata_statuses(api, 1)
    clock[0] += 10
    refused = api.get("/api/v1/tokens/zzzz")
    assert refused.status_code == 429
    assert error_of(refused) == {"code": "throttled", "message": "Too many requests; slow down."}
    assert refused["Retry-After"] == "30"  # when the first two requests leave the minute
    clock[0] += 30
    assert metadata_statuses(api, 3) == [404, 404, 429]


def test_a_detokenize_batch_of_n_counts_n(db: Any) -> None:
    writer = client("writer")
    token = writer.tokenize({"pan": "4111"})
    reader = client("reader", rate_limit=10)
    assert detokenize_batch(reader, token, 6).status_code == 200
    refused = detokenize_batch(reader, token, 6)  # 6 more do not fit in the 4 left: refused whole
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert detokenize_batch(reader, token, 3).status_code == 200
    assert reader.post("/api/v1/detokenize", {"tokenId": token}).status_code == 429


def test_batching_reads_reveals_no_more_a_minute_than_single_calls(db: Any) -> None:
    token = client("writer").tokenize({"pan": "4111"})
    singles, batches = client("singles", rate_limit=25), client("batches", rate_limit=25)
    revealed_singly = sum(
        singles.post("/api/v1/detokenize", {"tokenId": token}).status_code == 200 for _ in range(40)
    )
    revealed_in_batches = 0
    for size in (10, 10, 10, 4, 1, 1):
        response = detokenize_batch(batches, token, size)
        if response.status_code == 200:
            revealed_in_batches += sum("data" in r for r in response.json()["results"])
    assert revealed_singly == 25
    assert revealed_in_batches <= 25


def test_a_batch_larger_than_the_client_s_limit_says_to_send_smaller_ones(db: Any) -> None:
    token = client("writer").tokenize({"pan": "4111"})
    refused = detokenize_batch(client("reader", rate_limit=5), token, 6)
    assert refused.status_code == 429
    assert error_of(refused)["message"] == (
        "A batch of 6 counts 6 requests, over this client's 5 a minute; send smaller batches."
    )


def test_a_tokenize_batch_counts_one_so_a_migration_runs_at_full_speed(db: Any, settings: Any) -> None:
    settings.VAULT_REQUEST_BUDGET = 60  # 100 records in the emulator, on a busy test machine
    migration = client("migration", rate_limit=3)
    for batch in range(3):
        records = [{"data": {"pan": f"{batch}-{n}"}} for n in range(100)]
        response = migration.post("/api/v1/tokens/batch", {"records": records})
        assert response.status_code == 200
        assert all("tokenId" in r for r in response.json()["results"])
    assert migration.post("/api/v1/tokens/batch", {"records": [{"data": {"pan": "x"}}]}).status_code == 429


def test_an_operator_raises_a_client_s_limit_with_a_command(db: Any) -> None:
    api = client("reporting", rate_limit=2)
    assert metadata_statuses(api, 3) == [404, 404, 429]
    out = command("setratelimit", "reporting", "5")
    assert out == "API client 'reporting' may make 5 requests a minute per process.\n"
    assert ApiClient.objects.get(name="reporting").rate_limit == 5
    assert metadata_statuses(api, 4) == [404, 404, 404, 429]  # 2 of its 5 were spent
    [record] = [r for r in audit_records() if r["action"] == "api_client_rate_limit"]
    assert record["outcome"] == "success" and record["channel"] == "cli"
    assert record["detail"].endswith("rate limit 2/min -> 5/min")


def test_default_puts_a_client_back_on_the_setting(db: Any, settings: Any) -> None:
    settings.VAULT_API_RATE_LIMIT = 4
    api = client("reporting", rate_limit=1)
    out = command("setratelimit", "reporting", "default")
    assert out == "API client 'reporting' may make the default (4) requests a minute per process.\n"
    assert ApiClient.objects.get(name="reporting").rate_limit is None
    assert metadata_statuses(api, 5) == [404, 404, 404, 404, 429]


@pytest.mark.parametrize("limit", ["0", "-3", "many", "1.5", "1000001"])
def test_it_refuses_a_limit_that_is_not_a_positive_whole_number(db: Any, limit: str) -> None:
    client("reporting")
    with pytest.raises(CommandError, match="a whole number of requests a minute"):
        command("setratelimit", "reporting", limit)
    assert ApiClient.objects.get(name="reporting").rate_limit is None


def test_it_refuses_an_unknown_client(db: Any) -> None:
    with pytest.raises(CommandError, match="name: no such API client"):
        command("setratelimit", "nobody", "10")


def test_createapiclient_sets_a_limit(db: Any) -> None:
    key = command("createapiclient", "bulk", "--scopes", "tokenize", "--rate-limit", "2").splitlines()[-1]
    assert ApiClient.objects.get(name="bulk").rate_limit == 2
    assert metadata_statuses(Api(key), 3)[-1] == 429


def test_createapiclient_refuses_a_zero_limit(db: Any) -> None:
    with pytest.raises(CommandError, match="rate limit: a whole number of requests a minute, 1 to"):
        command("createapiclient", "bulk", "--scopes", "tokenize", "--rate-limit", "0")
    assert not ApiClient.objects.filter(name="bulk").exists()
