"""One time budget per request for all its AWS calls together.

Every way in opens `within()` (the API and pages through middleware, the
Lambda entry, readiness). The clients tokens/aws.py builds make one attempt
each as far as botocore is concerned; the hooks below give every attempt a
read timeout of at most what is left, retry throttling and transient faults
with jittered backoff only while the budget allows, and refuse to start an
attempt once it is spent. The hooks sit on the clients, so calls the
encryption SDK makes through them obey the same budget.

Outside a budget (commands, bootstrap) calls keep the configured timeouts and
AWS_MAX_ATTEMPTS attempts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import botocore.exceptions
from django.conf import settings

# Below this, an attempt could not get an answer anyway: do not start one.
MIN_ATTEMPT = 0.05
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0

_deadline: ContextVar[float | None] = ContextVar("vault_deadline", default=None)


class BudgetSpent(botocore.exceptions.BotoCoreError):
    fmt = "The request's time budget for AWS calls is spent"


@contextmanager
def within(seconds: float | None = None) -> Iterator[None]:
    """A budget of `seconds` (default VAULT_REQUEST_BUDGET); a nested budget never extends the outer."""
    end = time.monotonic() + (settings.VAULT_REQUEST_BUDGET if seconds is None else seconds)
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current budget, or None outside one."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def sleep(seconds: float) -> bool:
    """Sleep if the budget allows (leaving room for one more attempt); False if it does not."""
    left = remaining()
    if left is not None and left - seconds < MIN_ATTEMPT:
        return False
    time.sleep(seconds)
    return True


class _Hooks:
    def __init__(self, read_timeout: float, attempts: int) -> None:
        from botocore.retries import standard  # with the first client, not at start-up

        self.read_timeout = read_timeout
        self.conditions = standard.StandardRetryConditions(max_attempts=attempts)
        self.adapter = standard.RetryEventAdapter()

    def before_attempt(self, request: Any, **kwargs: Any) -> None:
        left = remaining()
        if left is None:
            return
        if left < MIN_ATTEMPT:
            raise BudgetSpent()
        # botocore's per-request read timeout (botocore.httpsession._get_request_timeout).
        request.context["read_timeout"] = min(self.read_timeout, left)

    def needs_retry(self, **kwargs: Any) -> float | None:
        if isinstance(kwargs.get("caught_exception"), BudgetSpent):
            return None
        context = self.adapter.create_retry_context(**kwargs)
        if not self.conditions.is_retryable(context):
            return None
        delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** kwargs["attempts"]))
        left = remaining()
        if left is not None and left - delay < MIN_ATTEMPT:
            return None
        return delay


def attach(client: Any, read_timeout: float, attempts: int) -> None:
    """Put the budget's timeouts and retries on a client built with one attempt."""
    hooks = _Hooks(read_timeout, attempts)
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"request-created.{service}", hooks.before_attempt)
    # botocore's own handler (one attempt) answers None, so ours decides.
    client.meta.events.register(f"needs-retry.{service}", hooks.needs_retry)
