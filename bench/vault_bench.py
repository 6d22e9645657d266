"""`make bench`: the vault's figures side by side in one run, each with its target.

    .venv/bin/python bench/vault_bench.py             # everything (a few minutes)
    .venv/bin/python bench/vault_bench.py --n 50 --repeats 3
    .venv/bin/python bench/vault_bench.py --only throughput,aws_calls
    .venv/bin/python bench/vault_bench.py --write      # and record them in docs/performance.md

In-process sections (bench/inprocess.py) run the seed's per-invocation code,
direct vault calls and the JSON API against moto in-process, same N, in
interleaved rounds. The `over_http` section (bench/over_http.py) compares the
API with direct calls again with moto as a server, every AWS call over HTTP.
The `fresh` section (bench/coldstart.py) starts fresh
processes against moto's server and a bare `django-admin startproject`.
Ratios are what to read: absolute times are moto's and this machine's.

To add figures (batch throughput, fingerprint cost, ...), write a function
`(Bench) -> (figures, details)` in a module under bench/ and add it to
IN_PROCESS below.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import caller_bench, coldstart, inprocess  # noqa: E402
from bench.figures import Figure, Section, table  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- vault-bench:start -->", "<!-- vault-bench:end -->"

IN_PROCESS: dict[str, Callable[[inprocess.Bench], Section]] = {
    "throughput": inprocess.throughput,
    "aws_calls": inprocess.aws_calls,
    "caller_metrics": caller_bench.caller_metrics,
}
ALL = [*IN_PROCESS, "over_http", "fresh"]


def run(n: int, repeats: int, only: list[str]) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    details: list[str] = []
    wanted = [name for name in IN_PROCESS if name in only]
    if wanted:
        with inprocess.setup(n) as bench:
            for name in wanted:
                got, more = IN_PROCESS[name](bench)
                figures += got
                details += more
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures.append(
            Figure("peak RSS of the in-process run (vault, moto and every token made)", peak, unit="MiB")
        )
    if "over_http" in only:
        figures += over_http(n)
    if "fresh" in only:
        got, more = coldstart.fresh_processes(repeats)
        figures += got
        details += more
    return figures, details


def over_http(n: int) -> list[Figure]:
    """bench/over_http.py in a child process: moto's server there, not mock_aws here."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "over_http.py"), "--n", str(n)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"bench/over_http.py failed:\n{done.stderr[-3000:]}")
    lines = [line.removeprefix("FIGURE ") for line in done.stdout.splitlines() if line.startswith("FIGURE ")]
    return [Figure(**json.loads(line)) for line in lines]


def render(figures: list[Figure], details: list[str], command: str, n: int, repeats: int) -> str:
    head = (
        f"`{command}` — n = {n} per path, {repeats} fresh processes per cold-start variant, "
        f"moto 5.2.5, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )
    return "\n\n".join([head, table(figures), *details])


def write(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} block to replace")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(f"{before}{START}\n{block}\n{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="operations per path and per figure")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per cold-start variant")
    parser.add_argument(
        "--only", default=",".join(ALL), help=f"comma-separated sections of: {', '.join(ALL)}"
    )
    parser.add_argument("--write", action="store_true", help=f"record the figures in {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    only = [name for name in args.only.split(",") if name]
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    figures, details = run(args.n, args.repeats, only)
    command = (
        "make bench"
        if argv is None and sys.argv[1:] == []
        else "python bench/vault_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    block = render(figures, details, command, args.n, args.repeats)
    print(block)
    if args.write:
        write(block)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    missed = [f for f in figures if f.verdict == "MISS"]
    print(f"\n{len(figures) - len(missed)} figures met or had no target; {len(missed)} missed.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
