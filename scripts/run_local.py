"""`make run`: moto's server on loopback as the AWS emulator, then the vault.

Starts the emulator, bootstraps the tables and KMS key, migrates (and makes the cache table), issues a
local API key and operator, and serves on http://127.0.0.1:$PORT. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"the AWS emulator did not start on port {port}")


def manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=True
    )
    return done.stdout


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
    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        children.append(
            subprocess.Popen(
                [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(aws_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(aws_port)
        print(f"AWS emulator (moto) on 127.0.0.1:{aws_port}")
        print(manage("vault_bootstrap", env=env), end="")
        manage("migrate", "--noinput", env=env)
        manage("createcachetable", env=env)  # the shared cache behind sign-in rate limits
        print(manage("local_accounts", env=env), end="")
        print(f"\nServing the vault on http://127.0.0.1:{port}  (Ctrl-C stops everything)\n")
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env
        )
        children.append(server)
        server.wait()
    except KeyboardInterrupt:
        pass
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, exc.stderr, sep="\n", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
