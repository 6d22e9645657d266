"""The JSON API against direct vault calls with every AWS call over HTTP, as on AWS.

    .venv/bin/python bench/over_http.py --n 100     # prints the figures as JSON lines

The in-process sections answer AWS calls inside botocore (moto's stubber), so
the vault's process never pays for sending a request and reading its answer,
and it shares its heap and CPU caches with moto's tables. Here moto runs as a
server in its own process (bench/coldstart.py's, on a loopback port): this
process does what a Lambda function does per call (urllib3, HTTP, parsing),
less TLS, and its CPU time is its own: moto's is spent in the other process,
so nothing needs to be subtracted. vault_bench.py runs this in a child process
(its other sections keep moto in-process).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import coldstart, inprocess  # noqa: E402
from bench.figures import Figure  # noqa: E402


def api_code_alone(b: inprocess.Bench, n: int) -> dict[str, float]:
    """CPU ms of a tokenize request through the API with the vault function stubbed out
    (it answers a token made before): back to back, and each after a real direct
    tokenize that is not timed. The same code either way; the second runs after the
    vault's work has been through the processor's caches, as every real request does."""
    from tokens import vault

    real = vault.tokenize
    made = real(b.actor, b.ctx, inprocess.SEED_DATA)
    costs = {}
    with inprocess.quiet_stdout():
        for label, between in (
            ("back to back", lambda: None),
            ("each after an untimed direct tokenize", lambda: real(b.actor, b.ctx, inprocess.SEED_DATA)),
        ):
            vault.tokenize = lambda *args, **kwargs: made  # type: ignore[assignment]
            try:
                spent = 0.0
                for _ in range(n + 1):
                    between()
                    client, started = b.client_cpu, time.process_time()
                    b.api("post", "/api/v1/tokens", {"data": inprocess.SEED_DATA})
                    spent += time.process_time() - started - (b.client_cpu - client)
            finally:
                vault.tokenize = real  # type: ignore[assignment]
            costs[label] = spent / (n + 1) * 1000
    return costs


def figures(n: int) -> list[Figure]:
    with coldstart.moto_server() as endpoint, inprocess.setup(n, endpoint) as b:
        # moto's CPU time is its server's: only the bench's own, as the API's client, is left out.
        paths = inprocess.vault_paths(b, {"direct": [], "api": []})
        measured = inprocess.warm_costs(*paths, n, excluded=lambda: b.client_cpu)
        alone = api_code_alone(b, n)
    out = []
    for op, (_, cpu) in measured.items():
        out.append(
            Figure(
                f"JSON API vs direct vault, CPU time per {op}, every AWS call over HTTP to moto's server",
                cpu["api"] / cpu["direct"],
                target="≤ 1.15",
            )
        )
    for op, (wall, _) in measured.items():
        out.append(
            Figure(f"… the same, wall time (moto's answers included), {op}", wall["api"] / wall["direct"])
        )
    for op, (_, cpu) in measured.items():
        for path in ("direct", "api"):
            out.append(
                Figure(
                    f"{path} {op} over HTTP, CPU ms per op in the vault's process",
                    cpu[path] * 1000,
                    unit="ms",
                )
            )
    for label, ms in alone.items():
        out.append(
            Figure(
                f"the API's own code, vault function stubbed, CPU ms per tokenize request, {label}",
                ms,
                unit="ms",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    for figure in figures(parser.parse_args().n):
        print("FIGURE " + json.dumps(dataclasses.asdict(figure)))


if __name__ == "__main__":
    main()
