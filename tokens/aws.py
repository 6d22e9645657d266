"""boto3 clients for DynamoDB, KMS (and S3, for the audit copy): the only place the vault builds them.

Clients are built lazily, once per (service, region, endpoint), with short
timeouts, all from one boto3 session per process (each session loads its own
copy of the endpoint and service data). boto3 itself is imported only when the
first client is built, so a process that never calls AWS never loads it.
tokens.budget gives each attempt what is left of the request's budget and
retries only while it lasts, so a slow dependency ends in a clear 503 within
the budget.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import botocore.exceptions
from django.conf import settings

from tokens import budget
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


def _config(connect: int, read: int) -> Any:
    import botocore.config

    # One attempt as far as botocore knows: retries are budget.attach's, inside the budget.
    # No client-side parameter validation: DynamoDB and KMS check every request anyway,
    # and botocore's check walked each attribute of each item, about 40% of the CPU time
    # a 100-record batch spent in botocore (docs/performance.md).
    return botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect,
        read_timeout=read,
        parameter_validation=False,
    )


@functools.lru_cache(maxsize=16)
def _client(service: str, region: str, endpoint: str, attempts: int, connect: int, read: int) -> Any:
    config = _config(connect, read)
    with _lock:
        built = session().client(service, region_name=region, endpoint_url=endpoint or None, config=config)
    budget.attach(built, read_timeout=read, attempts=attempts)
    return built


def client(service: str, region: str | None = None) -> Any:
    if service not in ("dynamodb", "kms", "s3"):
        # S3: only the audit log's write-once copy, read by tokens.audit_copy
        raise ValueError("tokens builds DynamoDB, KMS and S3 clients only")
    return _client(
        service,
        region or settings.AWS_REGION,
        settings.AWS_ENDPOINT_URL,
        settings.AWS_MAX_ATTEMPTS,
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )


@functools.lru_cache(maxsize=8)
def _table(name: str, region: str, endpoint: str, attempts: int, connect: int, read: int) -> Any:
    config = _config(connect, read)  # like the clients'
    with _lock:
        resource = session().resource(
            "dynamodb", region_name=region, endpoint_url=endpoint or None, config=config
        )
    budget.attach(resource.meta.client, read_timeout=read, attempts=attempts)
    return resource.Table(name)


def table_resource(name: str, region: str | None = None) -> Any:
    """A boto3 Table resource, for the encryption SDK's MetaStore (tokens.keystore).

    A resource converts values to and from Python types on its own client, so it
    gets its own client rather than the shared one (same retries and timeouts).
    """
    return _table(
        name,
        region or settings.AWS_REGION,
        settings.AWS_ENDPOINT_URL,
        settings.AWS_MAX_ATTEMPTS,
        settings.AWS_CONNECT_TIMEOUT,
        settings.AWS_READ_TIMEOUT,
    )


def reset_clients() -> None:
    """Forget the session and built clients (tests swap the emulator underneath)."""
    global _session
    with _lock:
        _client.cache_clear()
        _table.cache_clear()
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


def caused_by_aws(exc: BaseException) -> bool:
    """True when exc is, or was raised because of, a failed AWS call (a library's wrapper)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unavailable(service: str) -> Unavailable:
    return Unavailable(f"{service} is unavailable; retry later.")
