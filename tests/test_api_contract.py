"""schemathesis against the app in-process: the OpenAPI document is the server's exact contract.

Requests are generated from /api/v1/openapi.json, valid ones and (in negative
mode) ones the document says are invalid, and sent through Django's WSGI
application. Every answer must be: no 5xx, a status the document lists for that
operation, a body and headers matching its schema, and for invalid requests a
4xx. The stateful run follows the document's links (create -> read -> change
expiry -> detokenize -> delete).

The clock is frozen while a test runs, so the TTL window the document states
(relative to when it was served) is exactly the server's.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tokens.models import ApiClient

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SINGLE = [
    ("/api/v1/tokens", "POST"),
    ("/api/v1/detokenize", "POST"),
    ("/api/v1/tokens/{tokenId}", "GET"),
    ("/api/v1/tokens/{tokenId}", "PATCH"),
    ("/api/v1/tokens/{tokenId}", "DELETE"),
    ("/api/v1/tokens/search", "POST"),
]
# A batch answers 200 with an error entry for an entry that breaks the rules
# (so one bad record does not stop the others): only the batch body itself
# is refused whole, so the negative-data check does not apply to them.
BATCH = [("/api/v1/tokens/batch", "POST"), ("/api/v1/detokenize/batch", "POST")]
THROTTLED = [
    ("/api/v1/tokens", "POST"),
    ("/api/v1/detokenize/batch", "POST"),
    ("/api/v1/tokens/search", "POST"),
]
NO_INPUT = [("/healthz", "GET"), ("/readyz", "GET")]
EXAMPLES = {"valid": 200, "invalid": 120, "batch": 60, "throttled": 12}
STATEFUL = {"scenarios": 50, "steps": 8}
STATELESS = (
    len(SINGLE) * (EXAMPLES["valid"] + EXAMPLES["invalid"])
    + len(BATCH) * 2 * EXAMPLES["batch"]
    + len(NO_INPUT)
    + len(THROTTLED) * EXAMPLES["throttled"]
)


def _settings(examples: int, **extra: Any) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing case is reported as is
        suppress_health_check=list(HealthCheck),
        **extra,
    )


@pytest.fixture
def schema(db: Any, settings: Any) -> Iterator[Any]:
    settings.VAULT_API_RATE_LIMIT = 10**6  # the generated requests are not a flood to throttle
    settings.VAULT_SEARCH_RATE_LIMIT = 10**6
    # The contract, not the latency: on a busy test machine the emulator's transactions
    # (which copy whole tables) can pass the default 8 s, and a 503 is a failure here.
    settings.VAULT_REQUEST_BUDGET = 28
    settings.ALLOWED_HOSTS = ["localhost"]  # where schemathesis' WSGI client sends them
    # As Django's test client does: a request starting or ending must not close the
    # test's transaction (on PostgreSQL it would: the connection is not in autocommit).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with time_machine.travel(time.time(), tick=False):
            yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


SCOPES = ["tokenize", "detokenize", "metadata", "ttl", "delete", "search"]


@pytest.fixture
def bearer(db: Any) -> dict[str, str]:
    # Card numbers only ever masked for this client, so detokenize answers in the
    # stateful runs carry masked values (and `masked`) as well as clear ones.
    _, key = ApiClient.issue("fuzzer", SCOPES, masked_fields=["card_number"])
    return {"Authorization": f"Bearer {key}"}


def luhn_completed(card: str) -> str:
    """`card` with its last digit replaced so that it passes the Luhn check (its format kept)."""
    from tokens.fieldtypes import luhn_ok

    for digit in "0123456789":
        candidate = card[:-1] + digit
        if luhn_ok("".join(c for c in candidate if c.isdigit())):
            return candidate
    raise AssertionError("one of ten check digits passes")


def can_have_alias(kind: str, value: object) -> bool:
    """The document's words on which values an alias format takes (AliasFormat)."""
    if not isinstance(value, str):
        return False
    if kind == "card-last4":
        digits = sum(c in "0123456789" for c in value)
        return digits >= 10 and all(c in "0123456789 -" for c in value)
    return sum(c.isalnum() for c in value) >= 6


def mend(case: Any) -> None:
    """What a valid request needs beyond its schema, which JSON Schema cannot state: a card
    number's Luhn check digit; aliases only for fields of `data` whose values take that
    format; and an Idempotency-Key of its own (a key the generator repeats with another
    body is rightly refused: tests/test_idempotency.py covers that)."""
    body = case.body if isinstance(case.body, dict) else {}
    data = body.get("data")
    records = [r.get("data") for r in body.get("records", []) if isinstance(r, dict)]
    for fields in [data, *records]:
        if isinstance(fields, dict) and isinstance(fields.get("card_number"), str):
            fields["card_number"] = luhn_completed(fields["card_number"])
    if body.get("field") == "card_number" and isinstance(body.get("value"), str):
        body["value"] = luhn_completed(body["value"])  # a search
    if isinstance(body.get("aliases"), dict) and isinstance(data, dict):
        body["aliases"] = {
            name: kind
            for name, kind in body["aliases"].items()
            if name != "TTL" and can_have_alias(kind, data.get(name))
        }
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


def fuzz(
    schema: Any,
    operation: tuple[str, str],
    mode: GenerationMode,
    examples: int,
    checks: list[Any],
    headers: dict[str, str],
) -> Counter[int]:
    """Send `examples` generated requests to one operation; the statuses answered."""
    statuses: Counter[int] = Counter()
    path, method = operation

    @_settings(examples)
    @given(case=schema[path][method].as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            mend(case)
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses[response.status_code] += 1

    run()
    return statuses


@pytest.mark.parametrize("operation", SINGLE, ids=" ".join)
def test_valid_requests_get_documented_answers(
    schema: Any, bearer: dict[str, str], operation: tuple[str, str]
) -> None:
    statuses = fuzz(schema, operation, GenerationMode.POSITIVE, EXAMPLES["valid"], CHECKS, bearer)
    assert statuses.total() == EXAMPLES["valid"]
    if operation == ("/api/v1/tokens", "POST"):
        # Every valid body is accepted: the fuzzer reaches the vault (200: deduplicated).
        print(
            f"generated tokenize requests accepted: {statuses[201] + statuses[200]} of {statuses.total()}"
            f" ({statuses[200]} deduplicated)"
        )
        assert set(statuses) <= {200, 201}
    if operation == ("/api/v1/tokens/search", "POST"):
        assert statuses == {200: EXAMPLES["valid"]}


@pytest.mark.parametrize("operation", SINGLE, ids=" ".join)
def test_invalid_requests_are_refused_with_documented_answers(
    schema: Any, bearer: dict[str, str], operation: tuple[str, str]
) -> None:
    checks = [*CHECKS, negative_data_rejection]
    statuses = fuzz(schema, operation, GenerationMode.NEGATIVE, EXAMPLES["invalid"], checks, bearer)
    # negative_data_rejection asserted a 4xx for each (schemathesis leaves out a
    # case whose "invalid" body becomes valid once serialized to JSON).
    assert statuses.total() == EXAMPLES["invalid"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("operation", BATCH, ids=" ".join)
def test_batches_get_documented_answers(
    schema: Any, bearer: dict[str, str], operation: tuple[str, str], mode: GenerationMode
) -> None:
    statuses = fuzz(schema, operation, mode, EXAMPLES["batch"], CHECKS, bearer)
    assert statuses.total() == EXAMPLES["batch"]
    if mode is GenerationMode.POSITIVE:
        assert statuses == {200: EXAMPLES["batch"]}


@pytest.mark.parametrize("operation", THROTTLED, ids=" ".join)
def test_throttled_requests_get_documented_answers(
    schema: Any, settings: Any, operation: tuple[str, str]
) -> None:
    # A client allowed 4 requests a minute (and 4 searches): the rest of the minute's
    # valid requests get the documented 429 with Retry-After.
    settings.VAULT_SEARCH_RATE_LIMIT = 4
    _, key = ApiClient.issue("throttled", SCOPES, rate_limit=4)
    headers = {"Authorization": f"Bearer {key}"}
    statuses = fuzz(schema, operation, GenerationMode.POSITIVE, EXAMPLES["throttled"], CHECKS, headers)
    assert statuses[429] >= EXAMPLES["throttled"] - 4
    assert set(statuses) <= {200, 201, 429}


@pytest.mark.parametrize("operation", NO_INPUT, ids=" ".join)
def test_health_endpoints_get_documented_answers(schema: Any, operation: tuple[str, str]) -> None:
    assert fuzz(schema, operation, GenerationMode.POSITIVE, 1, CHECKS, {}) == {200: 1}


def test_stateful_sequences_get_documented_answers(schema: Any, bearer: dict[str, str]) -> None:
    steps: Counter[str] = Counter()

    class Vault(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            mend(case)  # as for single valid requests; keeps each scenario independent of the others
            if isinstance(case.body, dict):
                # A deduplicated tokenize answers 200 or 201 by what earlier scenarios made,
                # which changes the links a scenario can follow: Hypothesis then sees the same
                # choices lead elsewhere and stops (FlakyStrategyDefinition). The stateless
                # run above and tests/test_deduplicate.py cover deduplication.
                case.body.pop("deduplicate", None)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": bearer}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            steps[f"{case.method} {case.path} {response.status_code}"] += 1
            case.validate_response(response, checks=CHECKS, headers=bearer)

    Vault.run(settings=_settings(STATEFUL["scenarios"], stateful_step_count=STATEFUL["steps"]))
    print(f"stateful steps: {steps.total()}")
    # With the stateless cases above, at least 2,000 generated requests in all.
    assert steps.total() + STATELESS >= 2000
    # The links were followed: tokens made in a scenario were read, changed, revealed and deleted.
    for reached in (
        "GET /api/v1/tokens/{tokenId} 200",
        "PATCH /api/v1/tokens/{tokenId} 200",
        "POST /api/v1/detokenize 200",
        "DELETE /api/v1/tokens/{tokenId} 204",
    ):
        assert steps[reached] > 0, steps
