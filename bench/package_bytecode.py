"""A Lambda package's cold import with and without the bytecode `--compile` adds.

    zappa package syd_writer -o /tmp/syd_writer.zip
    .venv/bin/python bench/package_bytecode.py /tmp/syd_writer.zip

Unzips the package twice, as Zappa builds it and after `infra/lambda_package.py
--compile`, then in fresh processes (interleaved, `-B -I -S` as on Lambda's
read-only /var/task: nothing written, only the package and the standard
library) imports what the writer function's first request imports, and prints
the median CPU and wall seconds of each.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = """
import json, sys, time
sys.path[:0] = [sys.argv[1]]
cpu, wall = time.process_time(), time.perf_counter()
import vaultsite.wsgi, tokens.vault, tokens.api.views
print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}))
"""
ENV = {
    "DJANGO_SETTINGS_MODULE": "vaultsite.settings",
    "VAULT_FUNCTION_ROLE": "writer",
    "SECRET_KEY": "s",
    "API_KEY_PEPPER": "p",
    "AUDIT_HMAC_KEY": "a",
    "AWS_REGION": "ap-southeast-2",
    "METRICS_SINK": "emf",
    "ALLOWED_HOSTS": "localhost",
}


def main(package: str, repeats: int = 5) -> None:
    spec = importlib.util.spec_from_file_location("lambda_package", ROOT / "infra" / "lambda_package.py")
    assert spec and spec.loader
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    with tempfile.TemporaryDirectory() as tmp:
        compiled = Path(tmp) / "compiled.zip"
        shutil.copy(package, compiled)
        checker.compile_package(str(compiled))
        dirs = {"as Zappa builds it": Path(tmp) / "plain", "with --compile": Path(tmp) / "compiled"}
        for where, source in zip(dirs.values(), (package, compiled), strict=True):
            with zipfile.ZipFile(source) as z:
                z.extractall(where)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in dirs}
        for _ in range(repeats):
            for name, where in dirs.items():
                done = subprocess.run(
                    [sys.executable, "-B", "-I", "-S", "-c", IMPORT, str(where)],
                    env=ENV, capture_output=True, text=True, check=True, cwd=tmp,
                )  # fmt: skip
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    cpu = {name: statistics.median(r["cpu"] for r in rs) for name, rs in runs.items()}
    wall = {name: statistics.median(r["wall"] for r in rs) for name, rs in runs.items()}
    for name in dirs:
        print(f"{name}: import CPU {cpu[name]:.2f} s, wall {wall[name]:.2f} s (median of {repeats})")
    plain, done_ = cpu["as Zappa builds it"], cpu["with --compile"]
    print(f"CPU as Zappa builds it vs with --compile: {plain / done_:.2f}×")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
