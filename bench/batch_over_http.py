"""Batches against single calls as a client sees them: every hop over HTTP.

    .venv/bin/python bench/batch_over_http.py --n 500    # also the last table of batch_bench.py

bench/batch_bench.py calls the API inside its own process, against moto inside
botocore: no request ever crosses a socket, so what a batch saves in round trips
is not there to see. Here the client sends HTTP requests over one kept-alive
connection to the vault's writer and reader functions, each served in its own
process (bench/vault_server.py), whose AWS is moto's server in a third
(bench/emulator_server.py): every request and every AWS call is written, sent,
read and parsed, as on AWS, over loopback (no TLS, no network distance, so AWS
would favour batches more). Singles and batches run in interleaved rounds, so
the tables' growth and the machine's load hit both alike.

Two figures per direction: records a second as the client sees them (wall
time, moto's answers included), and the CPU time the vault's function process
spent per record (its own /proc counters: moto's time is not in it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import coldstart  # noqa: E402

BATCH = 100
ROUNDS = 5
RECORD = json.loads(coldstart.SEED_BODY)["data"]
SERVER = coldstart.ROOT / "bench" / "vault_server.py"


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Function:
    """One vault function (writer or reader) in its own process, and a kept-alive connection to it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, key: str) -> None:
        self.process = process
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Host": "localhost",
            "X-Forwarded-Proto": "https",
        }

    def post(self, path: str, body: Any) -> Any:
        self.connection.request("POST", path, json.dumps(body), self.headers)
        response = self.connection.getresponse()
        content = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"POST {path}: {response.status} {content[:300]!r}")
        return json.loads(content)

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


@contextmanager
def function(role: str, s: coldstart.Setup) -> Iterator[Function]:
    port = coldstart.free_port()
    env = coldstart.vault_env(
        s.endpoint,
        s.db,
        VAULT_FUNCTION_ROLE=role,
        VAULT_API_RATE_LIMIT="100000000",
        VAULT_REQUEST_BUDGET="28",  # a 100-record batch on moto's server, on a loaded machine
    )
    with coldstart.server([str(SERVER), str(port)], port, env) as process:
        yield Function(process, port, s.key)


def per_round(n: int, rounds: int) -> int:
    """Records per round of each kind: whole batches, at least one."""
    return max(BATCH, n // rounds // BATCH * BATCH)


def interleaved(
    f: Function, kinds: dict[str, Callable[[int], None]], rounds: int, each: int
) -> dict[str, tuple[float, float]]:
    """(records a second, function CPU ms a record) of each kind, each call of a kind
    handling `each` records of round r, in rounds whose order turns."""
    wall = dict.fromkeys(kinds, 0.0)
    cpu = dict.fromkeys(kinds, 0.0)
    names = list(kinds)
    for round_ in range(rounds):
        for kind in names if round_ % 2 == 0 else names[::-1]:
            started, used = time.perf_counter(), f.cpu()
            kinds[kind](round_)
            wall[kind] += time.perf_counter() - started
            cpu[kind] += f.cpu() - used
    records = each * rounds
    return {kind: (records / wall[kind], cpu[kind] / records * 1000) for kind in kinds}


def measure(n: int, rounds: int = ROUNDS) -> dict[str, dict[str, tuple[float, float]]]:
    """{direction: {"single"|"batch": (records a second, function CPU ms a record)}}."""
    each = per_round(n, rounds)
    made: dict[str, list[str]] = {"single": [], "batch": []}
    with coldstart.prepared() as s, function("writer", s) as writer, function("reader", s) as reader:
        # One of each first: the figures are for warm functions.
        writer.post("/api/v1/tokens", {"data": RECORD})
        writer.post("/api/v1/tokens/batch", {"records": [{"data": RECORD}]})
        warm = writer.post("/api/v1/tokens", {"data": RECORD})["tokenId"]
        reader.post("/api/v1/detokenize", {"tokenId": warm})
        reader.post("/api/v1/detokenize/batch", {"tokens": [{"tokenId": warm}]})

        def tokenize_singles(round_: int) -> None:
            made["single"].extend(
                writer.post("/api/v1/tokens", {"data": RECORD})["tokenId"] for _ in range(each)
            )

        def tokenize_batches(round_: int) -> None:
            body = {"records": [{"data": RECORD}] * BATCH}
            for _ in range(each // BATCH):
                made["batch"].extend(
                    r["tokenId"] for r in writer.post("/api/v1/tokens/batch", body)["results"]
                )

        def detokenize_singles(round_: int) -> None:
            for token in made["single"][round_ * each : (round_ + 1) * each]:
                reader.post("/api/v1/detokenize", {"tokenId": token})

        def detokenize_batches(round_: int) -> None:
            tokens = made["batch"][round_ * each : (round_ + 1) * each]
            for start in range(0, each, BATCH):
                body = {"tokens": [{"tokenId": t} for t in tokens[start : start + BATCH]]}
                results = reader.post("/api/v1/detokenize/batch", body)["results"]
                if not all("data" in r for r in results):
                    raise RuntimeError(f"a batch detokenize failed: {results[:3]}")

        tokenize = interleaved(writer, {"single": tokenize_singles, "batch": tokenize_batches}, rounds, each)
        detokenize = interleaved(
            reader, {"single": detokenize_singles, "batch": detokenize_batches}, rounds, each
        )
    return {"tokenize": tokenize, "detokenize": detokenize}


def table(n: int, rounds: int = ROUNDS) -> str:
    figures = measure(n, rounds)
    lines = [
        f"Over HTTP ({rounds} interleaved rounds, {per_round(n, rounds) * rounds} records "
        "each way per kind): the client on one kept-alive connection, the writer and reader functions each "
        "in its own process, moto's server in a third, everything on loopback\n",
        "| direction | single calls, records/s | batches of 100, records/s | batch / single "
        "| function CPU ms a record: single | batch | single / batch |",
        "|---|---|---|---|---|---|---|",
    ]
    for direction, got in figures.items():
        (single, single_cpu), (batch, batch_cpu) = got["single"], got["batch"]
        lines.append(
            f"| {direction} | {single:.0f} | {batch:.0f} | {batch / single:.1f}x "
            f"| {single_cpu:.2f} | {batch_cpu:.2f} | {single_cpu / batch_cpu:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="records per direction and kind")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print(table(args.n, args.rounds))


if __name__ == "__main__":
    main()
