"""Fresh processes: the first request of the vault against a bare Django project,
and a request while DynamoDB and KMS hang.

The vault's AWS is moto's server on a random loopback port (started here), so
a fresh vault process pays only its own imports and round trips, not the
emulator's start-up. The bare project is `django-admin startproject` as
generated, in a temporary directory, answering `GET /` (its "install worked" page).
Every process is started the same way (bench/first_request.py); the time is
from starting it to reading its answer. Runs alternate between the variants,
after one discarded run of each that writes the bytecode caches (even where
PYTHONDONTWRITEBYTECODE is set), so neither project pays for compiling.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import Figure, Section

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHILD = ROOT / "bench" / "first_request.py"
SEED_BODY = json.dumps(
    {
        "data": {
            "drivers_license": "987654321",
            "medicare_card": "1234 56789 0",
            "tax_file_number": "111 111 111",
        }
    }
)
# How long a hanging request may take here at most before it is called a failure.
BUDGET = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def server(
    args: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process (`python ARGS`) listening on `port` once this yields; stopped after."""
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(port)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    with server([str(ROOT / "bench" / "emulator_server.py"), "-H", "127.0.0.1", "-p", str(port)], port):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers (a hung dependency)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def vault_env(endpoint: str, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "DJANGO_", "AWS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="vaultsite.settings",
        SECRET_KEY="bench",
        API_KEY_PEPPER="bench",
        AUDIT_HMAC_KEY="bench",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="ap-southeast-2",
        AWS_ENDPOINT_URL=endpoint,
        DATABASE_URL=f"sqlite:///{db}",
        ALLOWED_HOSTS="localhost",
        METRICS_SINK="emf",  # as on the Lambda stages
        LOG_LEVEL="ERROR",
        DEBUG="0",
        VAULT_FUNCTION_ROLE="writer",
    )
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=300
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Answer:
    seconds: float  # from starting the process to reading its answer
    status: int
    request_s: float  # the request alone, inside the process
    cpu_s: float  # CPU time of the process until it answered (less swayed by other load)
    aws_wait_s: float  # waiting for AWS's answers (only with BENCH_TIME_AWS=1)
    maxrss_mib: float
    again_status: int = 0  # the same request again in the warm process (only with BENCH_AGAIN=1)
    again_s: float = 0.0


def first_request(
    project: Path, wsgi: str, method: str, path: str, body: str = "", env: dict[str, str] | None = None,
    headers: dict[str, str] | None = None, timeout: float = 120,
) -> Answer:  # fmt: skip
    env = dict(env or os.environ)
    env["BENCH_HEADERS"] = json.dumps(headers or {})
    # Both projects run from bytecode caches (written by the discarded first run), as a package would ship.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = [sys.executable, str(CHILD), str(project), wsgi, method, path] + ([body] if body else [])
    started = time.perf_counter()
    child = subprocess.Popen(
        args, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith('{"bench": "first_request"'):
                seconds = time.perf_counter() - started
                got = json.loads(line)
                child.wait(timeout=timeout)
                return Answer(
                    seconds,
                    got["status"],
                    got["request_s"],
                    got["cpu_s"],
                    got["aws_wait_s"],
                    got["maxrss_kib"] / 1024,
                    got.get("again_status", 0),
                    got.get("again_s", 0.0),
                )
        raise RuntimeError(
            f"{wsgi} {method} {path} gave no answer:\n{child.stderr.read() if child.stderr else ''}"
        )
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


# The floor under any first tokenize on this stack: a bare project whose one view
# imports boto3 and the encryption SDK, builds a session, a DynamoDB and a KMS
# client, and makes one call with each (a first tokenize makes nine).
FLOOR_URLS = """
import os

from django.http import HttpResponse
from django.urls import path


def aws(request):
    import boto3
    import dynamodb_encryption_sdk.encrypted.item  # noqa: F401  item encryption
    import dynamodb_encryption_sdk.material_providers.most_recent  # noqa: F401  the key hierarchy

    session = boto3.session.Session()
    region, endpoint = os.environ["AWS_REGION"], os.environ["AWS_ENDPOINT_URL"]
    session.client("dynamodb", region_name=region, endpoint_url=endpoint).list_tables(Limit=1)
    session.client("kms", region_name=region, endpoint_url=endpoint).list_keys(Limit=1)
    return HttpResponse("ok")


urlpatterns = [path("", aws)]
"""


@dataclass
class Setup:
    bare: Path
    floor: Path  # the bare project plus the AWS stack's first calls (FLOOR_URLS)
    db: Path
    endpoint: str
    key: str


@contextmanager
def prepared() -> Iterator[Setup]:
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp, moto_server() as endpoint:
        bare = Path(tmp) / "bare"
        bare.mkdir()
        subprocess.run([str(BIN / "django-admin"), "startproject", "bare", str(bare)], check=True)
        floor = Path(tmp) / "floor"
        floor.mkdir()
        subprocess.run([str(BIN / "django-admin"), "startproject", "floor", str(floor)], check=True)
        (floor / "floor" / "urls.py").write_text(FLOOR_URLS)
        db = Path(tmp) / "vault.sqlite3"
        env = vault_env(endpoint, db, VAULT_FUNCTION_ROLE="all")
        _manage("vault_bootstrap", env=env)
        _manage("migrate", "--noinput", env=env)
        key = (
            _manage("createapiclient", "bench", "--scopes", "tokenize,detokenize", env=env)
            .strip()
            .splitlines()[-1]
        )
        yield Setup(bare, floor, db, endpoint, key)


def fresh_processes(repeats: int) -> Section:
    with prepared() as s:
        figures, details = cold_start(s, repeats)
        budget_figures, budget_details = request_budget(s.key)
    return figures + budget_figures, details + budget_details


def cold_start(s: Setup, repeats: int) -> Section:
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {s.key}"}
    floor_env = {
        **{k: v for k, v in bare_env.items() if not k.startswith("AWS_")},  # none of the shell's
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "ap-southeast-2",
        "AWS_ENDPOINT_URL": s.endpoint,
    }
    variants: dict[str, Any] = {
        "bare": lambda: first_request(s.bare, "bare.wsgi", "GET", "/", env=bare_env),
        "floor": lambda: first_request(s.floor, "floor.wsgi", "GET", "/", env=floor_env),
        "healthz": lambda: first_request(
            ROOT, "vaultsite.wsgi", "GET", "/healthz", env=vault_env(s.endpoint, s.db)
        ),
        "tokenize": lambda: first_request(
            ROOT,
            "vaultsite.wsgi",
            "POST",
            "/api/v1/tokens",
            SEED_BODY,
            vault_env(s.endpoint, s.db, BENCH_TIME_AWS="1"),
            auth,
        ),
        "healthz (operator)": lambda: first_request(
            ROOT,
            "vaultsite.wsgi",
            "GET",
            "/healthz",
            env=vault_env(s.endpoint, s.db, VAULT_FUNCTION_ROLE="operator"),
        ),
    }
    expected = {"bare": 200, "floor": 200, "healthz": 200, "tokenize": 201, "healthz (operator)": 200}
    runs: dict[str, list[Answer]] = {name: [] for name in variants}
    for run in variants.values():
        run()  # writes bytecode caches; not counted
    for _ in range(repeats):
        for name, run in variants.items():
            answer = run()
            if answer.status != expected[name]:
                raise RuntimeError(f"cold start {name}: status {answer.status}, expected {expected[name]}")
            runs[name].append(answer)
    median = {name: statistics.median(a.seconds for a in answers) for name, answers in runs.items()}
    cpu = {name: statistics.median(a.cpu_s for a in answers) for name, answers in runs.items()}
    own = statistics.median(a.seconds - a.aws_wait_s for a in runs["tokenize"])
    rss = {name: max(a.maxrss_mib for a in answers) for name, answers in runs.items()}
    figures = [
        Figure(
            "fresh process, first /healthz, vs bare startproject's first request",
            median["healthz"] / median["bare"],
            target="≤ 1.5",
            note="writer function",
        ),
        Figure(
            "fresh process, first tokenize, vs bare startproject's first request",
            median["tokenize"] / median["bare"],
            target="≤ 2",
            note="writer function, API key and KMS on moto's server",
        ),
        Figure(
            "the stack's floor, fresh process: a bare project importing boto3 and the encryption SDK, "
            "two clients, one call each, vs bare",
            median["floor"] / median["bare"],
            note="what any first tokenize on this stack pays at least",
        ),
        Figure("… first tokenize vs that floor", median["tokenize"] / median["floor"]),
        Figure(
            "… first tokenize, not counting the wait for the emulator's answers, vs bare",
            own / median["bare"],
            note="moto's server on this loaded machine answers far slower than AWS",
        ),
        Figure("… first /healthz, CPU time of the process vs bare", cpu["healthz"] / cpu["bare"]),
        Figure("… first tokenize, CPU time of the process vs bare", cpu["tokenize"] / cpu["bare"]),
        Figure("… the stack's floor, CPU time of the process vs bare", cpu["floor"] / cpu["bare"]),
        Figure(
            "fresh process, first /healthz on the operator function, vs bare",
            median["healthz (operator)"] / median["bare"],
        ),
        Figure("peak RSS after the first tokenize, vs bare startproject", rss["tokenize"] / rss["bare"]),
    ]
    details = [
        f"Cold start: median of {repeats} fresh processes each (bare {median['bare'] * 1000:.0f} ms, "
        + ", ".join(f"{name} {median[name] * 1000:.0f} ms" for name in variants if name != "bare")
        + f"); peak RSS bare {rss['bare']:.0f} MiB, vault after first tokenize {rss['tokenize']:.0f} MiB."
    ]
    return figures, details


def request_budget(key: str) -> Section:
    """Tokenize while every AWS endpoint accepts connections and never answers.

    The figure is the second request of a fresh process: the first also pays
    for loading the vault, the SDK and boto3, which the budget does not cover.
    """
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp, silent_endpoint() as endpoint:
        env = vault_env(
            endpoint, Path(tmp) / "unused.sqlite3", VAULT_REQUEST_BUDGET=str(BUDGET), BENCH_AGAIN="1"
        )
        auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        try:
            answer = first_request(
                ROOT, "vaultsite.wsgi", "POST", "/api/v1/tokens", SEED_BODY, env, auth, timeout=BUDGET + 60
            )
        except subprocess.TimeoutExpired:
            answer = None
    if answer is None:
        return [
            Figure(
                "a request while DynamoDB and KMS hang",
                None,
                unit="s",
                target=f"≤ {BUDGET + 1}",
                note="no answer within 60 s",
            )
        ], []
    return [
        Figure(
            "a request while DynamoDB and KMS hang, seconds to answer",
            answer.again_s,
            unit="s",
            target=f"≤ {BUDGET + 1}",
            note=f"VAULT_REQUEST_BUDGET={BUDGET}, answered {answer.again_status}",
        ),
        Figure("… and that answer is 503", float(answer.again_status == 503), unit="", target="≥ 1"),
        Figure(
            "… the same as a fresh process's first request (loading the vault included)",
            answer.request_s,
            unit="s",
            note=f"answered {answer.status}",
        ),
    ], []
