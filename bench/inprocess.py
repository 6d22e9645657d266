"""The in-process sections: seed vs direct vault vs JSON API, AWS calls per operation.

Everything runs in this process against moto's in-process emulator. Call
`setup()` first; it sets the environment, starts the emulator and Django, and
returns a `Bench` that sections use. A new section is a function
`(Bench) -> list[Figure]` added to SECTIONS (vault_bench.py prints them in order).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench import awscalls, emulator
from bench.figures import Figure, Section, per_op_costs
from tests import emulator_speed

# The seed's sample record.
SEED_DATA = {
    "drivers_license": "987654321",
    "medicare_card": "1234 56789 0",
    "tax_file_number": "111 111 111",
}

ENV = {
    "DJANGO_SETTINGS_MODULE": "vaultsite.settings",
    "SECRET_KEY": "bench",
    "API_KEY_PEPPER": "bench",
    "AUDIT_HMAC_KEY": "bench",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "ap-southeast-2",
    "AWS_DEFAULT_REGION": "ap-southeast-2",
    "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": "sqlite:///:memory:",
    # What the Lambda stages use: one EMF line per operation on stdout (swallowed while timing).
    "METRICS_SINK": "emf",
    "VAULT_API_RATE_LIMIT": "100000000",
    "ALLOWED_HOSTS": "testserver",
    "LOG_LEVEL": "ERROR",
}


@dataclass
class Bench:
    n: int
    actor: Any
    ctx: Any
    wsgi: Any  # the WSGI application as the writer and reader functions build it
    key: str  # an API key with every scope
    seed: Any  # bench.seed_baseline.Seed: the seed's per-invocation code
    strict_seed: Any  # the same with one process-wide botocore session
    tokens: dict[str, list[str]] = field(default_factory=dict)
    # CPU seconds `api` spent as the client (writing the request, reading the answer):
    # another process's work on AWS, so the API's figures leave it out (`excluded`).
    client_cpu: float = 0.0

    def excluded(self) -> float:
        """CPU seconds that are neither the vault's nor the API's: the emulator's, and
        the bench's own as the API's client."""
        return emulator.cpu_seconds() + self.client_cpu

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One JSON API request through the WSGI application, as Zappa hands it one on
        Lambda (not Django's test client, whose own bookkeeping would be counted)."""
        started = time.process_time()
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method.upper(),
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_AUTHORIZATION": f"Bearer {self.key}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "https",
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        self.client_cpu += time.process_time() - started
        chunks = self.wsgi(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        started = time.process_time()
        try:
            if int(status[0].split()[0]) >= 300:
                raise RuntimeError(f"{method.upper()} {path}: {status[0]} {content[:200]!r}")
            return json.loads(content) if content else None
        finally:
            self.client_cpu += time.process_time() - started


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The EMF sink writes a line per operation to stdout; keep it out of the report."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def setup(n: int, endpoint: str = "") -> Iterator[Bench]:
    """The vault against moto in this process, or with `endpoint` against moto's server
    there (bench/over_http.py): then every AWS call goes over HTTP as to AWS, and
    moto's CPU time is its own process's, not this one's."""
    # Forced, not defaults: a DATABASE_URL or AWS endpoint in the caller's shell must not be used.
    os.environ.update(ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # "": moto in-process, not a server
    awscalls.install()  # before any boto3 session exists
    if not endpoint:
        emulator.install()
        emulator_speed.copy_each_table_once()  # moto backs a table up once per action otherwise

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from moto import mock_aws

    from bench.seed_baseline import Seed

    with contextlib.nullcontext() if endpoint else mock_aws():
        if not endpoint:
            # vault_bootstrap makes the KMS key only against an emulator's endpoint; here, make it.
            import boto3

            kms = boto3.client("kms", region_name=settings.AWS_REGION)
            kms.create_alias(
                AliasName=settings.VAULT_KMS_KEY, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"]
            )
        call_command("migrate", verbosity=0)
        call_command("vault_bootstrap", stdout=io.StringIO())
        out = io.StringIO()
        call_command(
            "createapiclient", "bench", "--scopes", "tokenize,detokenize,metadata,ttl,delete", stdout=out
        )
        key = out.getvalue().strip().splitlines()[-1]

        from tokens import api_keys
        from tokens.actors import RequestContext

        where = (
            settings.VAULT_TABLE,
            settings.VAULT_KMS_KEY,
            settings.AWS_REGION,
            settings.VAULT_REGION_CODE,
        )
        yield Bench(
            n=n,
            # The same caller as the API's requests (its key's client), so both paths do the
            # same per-caller work (metrics per caller, field rules).
            actor=api_keys.authenticate(key),
            ctx=RequestContext(channel="cli"),
            wsgi=_application_as_deployed(),
            key=key,
            seed=Seed(*where),
            strict_seed=Seed(*where, shared_session=True),
        )


def _application_as_deployed() -> Any:
    """The WSGI application with the middleware of the writer and reader functions,
    which serve the JSON API on Lambda (vaultsite/settings.py drops the page-only
    middleware for them). The URLs stay `all`'s, a superset."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = [m for m in full if m not in settings.PAGE_ONLY_MIDDLEWARE]
    try:
        return WSGIHandler()  # builds its middleware chain now
    finally:
        settings.MIDDLEWARE = full


Paths = dict[str, Callable[[int], Any]]


def vault_paths(b: Bench, made: dict[str, list[str]]) -> tuple[Paths, Paths]:
    """Tokenize and detokenize through the vault directly and through the JSON API;
    each tokenize adds its token to made["direct"] or made["api"]."""
    from tokens import vault

    tokenize: Paths = {
        "direct": lambda i: made["direct"].append(vault.tokenize(b.actor, b.ctx, SEED_DATA).token_id),
        "api": lambda i: made["api"].append(b.api("post", "/api/v1/tokens", {"data": SEED_DATA})["tokenId"]),
    }
    # i + 1: token 0 of each path was made while warming up (`warm_costs`).
    detokenize: Paths = {
        "direct": lambda i: vault.detokenize(b.actor, b.ctx, made["direct"][i + 1]),
        "api": lambda i: b.api("post", "/api/v1/detokenize", {"tokenId": made["api"][i + 1]}),
    }
    return tokenize, detokenize


def warm_costs(
    tokenize: Paths, detokenize: Paths, n: int, excluded: Callable[[], float] = lambda: 0.0
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """(wall, CPU) seconds per op of each path, per operation, in a warm process."""
    with quiet_stdout():
        # One of each first: the figures are for a warm process (modules, clients, key material).
        for path in tokenize:
            tokenize[path](-1)
            detokenize[path](-1)
        return {
            op: per_op_costs(paths, n, excluded=excluded)
            for op, paths in (("tokenize", tokenize), ("detokenize", detokenize))
        }


def throughput(b: Bench) -> Section:
    """Seed per-invocation code, direct vault calls and the JSON API: same emulator, same N."""
    made: dict[str, list[str]] = {"seed": [], "strict seed": [], "direct": [], "api": []}
    b.tokens.update(made)
    vault_tokenize, vault_detokenize = vault_paths(b, made)
    tokenize: Paths = {
        "seed": lambda i: made["seed"].append(b.seed.tokenize(SEED_DATA)),
        "strict seed": lambda i: made["strict seed"].append(b.strict_seed.tokenize(SEED_DATA)),
        **vault_tokenize,
    }
    detokenize: Paths = {
        "seed": lambda i: b.seed.detokenize(made["seed"][i + 1]),
        "strict seed": lambda i: b.strict_seed.detokenize(made["strict seed"][i + 1]),
        **vault_detokenize,
    }
    costs = warm_costs(tokenize, detokenize, b.n, excluded=b.excluded)
    seconds = {op: wall for op, (wall, _) in costs.items()}
    ours = {op: own for op, (_, own) in costs.items()}
    figures = []
    for op, t in ours.items():
        figures.append(
            Figure(
                f"direct vault vs seed per-invocation code, {op}, CPU time (the emulator's left out)",
                t["seed"] / t["direct"],
                target="≥ 6",
            )
        )
    for op, t in seconds.items():
        figures.append(Figure(f"… the same, wall time with the emulator's, {op}", t["seed"] / t["direct"]))
    for op, t in ours.items():
        figures.append(
            Figure(
                f"direct vault vs seed with one botocore session per process (stricter), {op}, CPU time",
                t["strict seed"] / t["direct"],
            )
        )
    for op, t in ours.items():
        figures.append(
            Figure(
                f"JSON API vs direct vault, CPU time per {op} on our side (the emulator's left out)",
                t["api"] / t["direct"],
                target="≤ 1.15",
            )
        )
    for op, t in seconds.items():
        figures.append(Figure(f"… the same, wall time with the emulator's, {op}", t["api"] / t["direct"]))
    for op, t in seconds.items():
        for path in made:
            figures.append(Figure(f"{path} {op}, ms per op on moto", t[path] * 1000, unit="ms"))
    for op, t in ours.items():
        for path in made:
            figures.append(
                Figure(f"{path} {op}, CPU ms per op outside the emulator", t[path] * 1000, unit="ms")
            )
    return figures, []


OPERATIONS: dict[str, tuple[int, int]] = {
    # operation: (DynamoDB calls per op target, KMS target is ≤ 0.001 for all)
    "tokenize": (1, 0),
    "detokenize": (2, 0),
    "metadata": (2, 0),
    "change expiry": (2, 0),
    "delete": (2, 0),
}


def _direct_ops(b: Bench) -> dict[str, Callable[[int], Any]]:
    from tokens import vault

    fresh: list[str] = []
    with quiet_stdout():
        for _ in range(b.n):
            fresh.append(vault.tokenize(b.actor, b.ctx, SEED_DATA).token_id)
    later = int(time.time()) + 86400
    return {
        "tokenize": lambda i: vault.tokenize(b.actor, b.ctx, SEED_DATA),
        "detokenize": lambda i: vault.detokenize(b.actor, b.ctx, fresh[i]),
        "metadata": lambda i: vault.metadata(b.actor, b.ctx, fresh[i]),
        "change expiry": lambda i: vault.change_expiry(b.actor, b.ctx, fresh[i], later + i),
        "delete": lambda i: vault.delete(b.actor, b.ctx, fresh[i]),
    }


def aws_calls(b: Bench) -> Section:
    """AWS calls per operation in steady state: each operation N times after a warm process."""
    from django.conf import settings

    figures: list[Figure] = []
    breakdown: list[str] = []
    decoy_reads = 0
    started = time.monotonic()
    with quiet_stdout():
        for op, fn in _direct_ops(b).items():
            with awscalls.counting() as calls:
                for i in range(b.n):
                    fn(i)
            ddb_target, _ = OPERATIONS[op]
            # The decoy set is read once per VAULT_DECOY_CACHE_SECONDS by each process, not
            # per operation (like the API key's refresh below): counted on its own line.
            decoys = calls.table(settings.VAULT_DECOY_TABLE)
            decoy_reads += decoys
            figures.append(
                Figure(
                    f"DynamoDB calls per {op}",
                    (calls.service("dynamodb") - decoys) / b.n,
                    unit="",
                    target=f"≤ {ddb_target}",
                )
            )
            figures.append(
                Figure(f"KMS calls per {op}", calls.service("kms") / b.n, unit="", target="≤ 0.001")
            )
            breakdown.append(f"| {op} (direct) | {calls.describe(per=b.n)} |")
        figures.append(
            Figure(
                "DynamoDB calls for the decoy set (honeytokens), per operation above",
                decoy_reads / (len(OPERATIONS) * b.n),
                unit="",
                note=f"{decoy_reads} reads in {time.monotonic() - started:.0f} s; "
                f"VAULT_DECOY_CACHE_SECONDS={settings.VAULT_DECOY_CACHE_SECONDS}",
            )
        )
        api_token = b.tokens["api"][0]
        requests = {
            "tokenize (API)": lambda: b.api("post", "/api/v1/tokens", {"data": SEED_DATA}),
            "detokenize (API)": lambda: b.api("post", "/api/v1/detokenize", {"tokenId": api_token}),
        }
        key_calls = 0
        key_seconds = 0.0
        for name, fn in requests.items():
            fn()  # a key verified just now: the count covers the key cache's period, as at volume
            started = time.monotonic()
            with awscalls.counting() as calls:
                for _ in range(b.n):
                    fn()
            key_seconds = max(key_seconds, time.monotonic() - started)
            key_calls += calls.table(settings.VAULT_CLIENTS_TABLE)
            breakdown.append(f"| {name} | {calls.describe(per=b.n)} |")
    figures.append(
        Figure(
            "DynamoDB calls per API request for the API key",
            key_calls / (2 * b.n),
            unit="",
            target="≤ 0",
            note=f"{b.n} requests in {key_seconds:.0f} s after one that verified the key; "
            f"API_KEY_CACHE_SECONDS={settings.API_KEY_CACHE_SECONDS}",
        )
    )
    return figures, ["\n".join(["| operation | AWS calls per operation |", "|---|---|", *breakdown])]
