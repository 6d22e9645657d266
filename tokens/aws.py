"""boto3 clients for DynamoDB and KMS: the only place the project builds them.

Clients are built lazily, once per (service, region, endpoint), with bounded
retries and short timeouts so that a slow dependency ends in a clear 503, all
from one boto3 session per process (each session loads its own copy of the
endpoint and service data). boto3 itself is imported only when the first
client is built, so a process that never calls AWS never loads it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens.errors import Unavailable

# Error codes that mean "try later", not "you asked for something wrong".
UNAVAILABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSInternalException",
        "KeyUnavailableException",
        "DependencyTimeoutException",
        "TransactionConflictException",
    }
)


# A boto3 session is not thread-safe: build it, and clients from it, one at a time.
_lock = threading.RLock()
_session: Any = None


def session() -> Any:
    """This process's one boto3 session, built on first use."""
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session


@functools.lru_cache(maxsize=16)
def _client(service: str, region: str, endpoint: str, attempts: int, connect: int, read: int) -> Any:
    import botocore.config

    config = botocore.config.Config(
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=connect,
        read_timeout=read,
    )
    with _lock:
        return session().client(service, region_name=region, endpoint_url=endpoint or None, config=config)


def configured(service: str, region: str | None = None) -> Any:
    """A client of any AWS service with the project's retries, timeouts and endpoint.

    Each service still has one owner: tokens (DynamoDB, KMS) and monitoring
    (CloudWatch, SNS) call this through their own `client()`.
    """
    return _client(
        service,
        region or settings.AWS_REGION,
        settings.AWS_ENDPOINT_URL,
        settings.AWS_MAX_ATTEMPTS,
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )


def client(service: str, region: str | None = None) -> Any:
    if service not in ("dynamodb", "kms"):
        raise ValueError("tokens builds DynamoDB and KMS clients only")
    return configured(service, region)


def reset_clients() -> None:
    """Forget the session and built clients (tests swap the emulator underneath)."""
    global _session
    with _lock:
        _client.cache_clear()
        _session = None


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_unavailable(exc: BaseException) -> bool:
    """True when exc says the service is down, slow or throttled (not our input)."""
    if isinstance(
        exc,
        (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.NoCredentialsError,
        ),
    ):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in UNAVAILABLE_CODES or status >= 500
    return isinstance(exc, botocore.exceptions.BotoCoreError)


def unavailable(service: str) -> Unavailable:
    return Unavailable(f"{service} is unavailable; retry later.")
