"""`make run`: moto's server on loopback as the AWS emulator, then the vault.

Starts the emulator, bootstraps the tables and KMS key, migrates (and makes the cache table), issues a
local API key and operator, writes the local environment to .local.env for a
second shell (see "A second shell" in the README), and serves on
http://127.0.0.1:$PORT. If the emulator stops, it says so and stops the vault
too. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# What make run's processes use and a second shell's manage.py needs (vaultsite/settings.py
# reads the file back for any of these not already set there).
SHARED = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "METRICS_SINK",
    "VAULT_SITE_URL",
    "SECRET_KEY",
    "API_KEY_PEPPER",
    "AUDIT_HMAC_KEY",
    "DATABASE_URL",
)
WATCH_EVERY = 0.5  # seconds between looks at the emulator and the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=True
    )
    return done.stdout


def local_env_path() -> Path | None:
    """VAULT_LOCAL_ENV names the file (relative to the checkout); empty: write none."""
    raw = os.environ.get("VAULT_LOCAL_ENV", ".local.env")
    return ROOT / raw if raw else None


def write_local_env(path: Path, env: dict[str, str]) -> None:
    """The settings a second shell needs, readable by this user only; MAKE_RUN_PID marks it live."""
    lines = [
        "# Written by `make run` (scripts/run_local.py) and removed when it stops; not for editing.",
        "# manage.py in another shell at this checkout reads it for settings not already set.",
        f"MAKE_RUN_PID={os.getpid()}",
        *(f"{name}={env[name]}" for name in SHARED if env.get(name)),
    ]
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(partial, path)


def remove_local_env(path: Path | None) -> None:
    """Remove the file if it is still this run's (another make run may have replaced it)."""
    if path is None:
        return
    try:
        if f"MAKE_RUN_PID={os.getpid()}\n" in path.read_text():
            path.unlink()
    except FileNotFoundError:
        pass


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    aws_port = int(os.environ.get("AWS_EMULATOR_PORT", "0")) or free_port()
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{aws_port}",
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # the emulator accepts any credentials
        AWS_REGION=env.get("AWS_REGION", "ap-southeast-2"),
        DEBUG="1",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        METRICS_SINK=env.get("METRICS_SINK", "db"),
        PYTHONUNBUFFERED="1",
        # Sign-in links (printed, and emails on the console) point here.
        VAULT_SITE_URL=f"http://127.0.0.1:{port}",
    )
    # Fresh local secrets each run unless given: the emulator starts empty each run too.
    for name in ("SECRET_KEY", "API_KEY_PEPPER", "AUDIT_HMAC_KEY"):
        env[name] = env.get(name) or secrets.token_urlsafe(48)
    local_env = local_env_path()
    children: list[subprocess.Popen[bytes]] = []

    def stop(code: int = 0) -> None:
        remove_local_env(local_env)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise SystemExit(code)

    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    signal.signal(signal.SIGHUP, lambda *_: stop(0))  # its terminal was closed
    try:
        emulator = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(aws_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(emulator)
        if not answers(aws_port):
            print(f"make run: the AWS emulator did not start on port {aws_port}", file=sys.stderr)
            stop(1)
        print(f"AWS emulator (moto) on 127.0.0.1:{aws_port}")
        print(manage("vault_bootstrap", env=env), end="")
        manage("migrate", "--noinput", env=env)
        manage("createcachetable", env=env)  # the shared cache behind sign-in rate limits
        print(manage("local_accounts", env=env), end="")
        if local_env is not None:
            write_local_env(local_env, env)
            print(f"\nA second shell at {ROOT} needs nothing exported: manage.py reads {local_env.name}.")
        print(f"\nServing the vault on http://127.0.0.1:{port}  (Ctrl-C stops everything)\n")
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env
        )
        children.append(server)
        # The watchdog: without the emulator every request would answer 503.
        while True:
            if (code := emulator.poll()) is not None:
                print(
                    f"make run: the AWS emulator (moto, pid {emulator.pid}) stopped (exit code {code}); "
                    "stopping the vault. Run `make run` again.",
                    file=sys.stderr,
                    flush=True,
                )
                stop(1)
            if (code := server.poll()) is not None:
                print(
                    f"make run: the vault's server stopped (exit code {code}).", file=sys.stderr, flush=True
                )
                stop(code or 1)
            time.sleep(WATCH_EVERY)
    except KeyboardInterrupt:
        stop(0)
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, exc.stderr, sep="\n", file=sys.stderr)
        stop(1)


if __name__ == "__main__":
    main()
