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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import coldstart, inprocess  # noqa: E402
from bench.figures import Figure  # noqa: E402


def figures(n: int) -> list[Figure]:
    with coldstart.moto_server() as endpoint, inprocess.setup(n, endpoint) as b:
        # moto's CPU time is its server's: only the bench's own, as the API's client, is left out.
        paths = inprocess.vault_paths(b, {"direct": [], "api": []})
        measured = inprocess.warm_costs(*paths, n, excluded=lambda: b.client_cpu)
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
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    for figure in figures(parser.parse_args().n):
        print("FIGURE " + json.dumps(dataclasses.asdict(figure)))


if __name__ == "__main__":
    main()
