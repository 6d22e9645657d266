"""Check a Lambda package built by `zappa package` before it is deployed.

    python infra/lambda_package.py --compile token-vault-syd_writer.zip
    python infra/lambda_package.py token-vault-syd_writer.zip

`--compile` first adds Python bytecode to the package: Zappa leaves every
`__pycache__` out, and Lambda's /var/task is read-only, so without it every
cold start compiles every module it imports from source. The bytecode is
unchecked-hash (PEP 552): used as shipped, whatever the files' times after
unzipping; the sources stay beside it for tracebacks. Run it with Python 3.11.

Exit status 1 with one line per problem: a binary wheel built for a newer glibc
than the python3.11 runtime's (Amazon Linux 2, glibc 2.26), for another Python
or CPU, a package over Lambda's 250 MB unzipped limit, something that must not
ship (tests, dev tools), a missing entry point, or no bytecode for the vault.
Standard library only.
"""

from __future__ import annotations

import compileall
import py_compile
import re
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

RUNTIME_GLIBC = (2, 26)  # python3.11 on Lambda runs on Amazon Linux 2
PYTHON_TAG = "cp311"
ARCH = "x86_64"
MAX_UNZIPPED = 250 * 1024 * 1024
REQUIRED = (
    "zappa_settings.py",
    "handler.py",
    "vaultsite/lambda_handler.py",
    "tokens/vault.py",
    "django/__init__.py",
)
MUST_NOT_SHIP = (
    "tests", "docs", "bench", "infra", "scripts", ".venv", "moto", "playwright", "pytest", "_pytest", "ruff",
    "zappa_settings.json",
)  # fmt: skip
# Modules whose bytecode must ship: the request path's first imports.
COMPILED = ("vaultsite/lambda_handler.py", "tokens/vault.py", "django/__init__.py", "botocore/client.py")
LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")


def platform_ok(tag: str) -> bool:
    """One wheel tag (python-abi-platform) runs on the Lambda runtime."""
    python, abi, platform = tag.split("-")
    if platform == "any":
        return python.startswith("py") or python == PYTHON_TAG or abi == "abi3"
    if python != PYTHON_TAG and abi != "abi3":
        return False
    for name, glibc in LEGACY.items():
        if platform == f"{name}_{ARCH}":
            return glibc <= RUNTIME_GLIBC
    match = MANYLINUX.match(platform)
    return bool(match) and match.group(3) == ARCH and (int(match[1]), int(match[2])) <= RUNTIME_GLIBC


def bytecode_of(name: str) -> str:
    """Where Python 3.11 looks for the bytecode of the module at `name`."""
    path = PurePosixPath(name)
    return str(path.parent / "__pycache__" / f"{path.stem}.cpython-311.pyc")


def compile_package(path: str) -> int:
    """Add unchecked-hash bytecode for every module in the package; return how many."""
    if sys.version_info[:2] != (3, 11):
        raise SystemExit(
            f"--compile needs Python 3.11 (the runtime's bytecode), not {sys.version.split()[0]}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(path) as package:
            package.extractall(tmp)
            infos = package.infolist()
        compileall.compile_dir(
            tmp, quiet=2, ddir="/var/task", workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )  # fmt: skip
        added = 0
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as package:
            have = set(package.namelist())
            for info in infos:
                pyc = bytecode_of(info.filename)
                if info.filename.endswith(".py") and pyc not in have and (Path(tmp) / pyc).is_file():
                    entry = zipfile.ZipInfo(pyc, date_time=info.date_time)
                    entry.create_system, entry.external_attr = 3, 0o644 << 16
                    package.writestr(entry, (Path(tmp) / pyc).read_bytes(), zipfile.ZIP_DEFLATED)
                    added += 1
    return added


def problems(path: str) -> list[str]:
    found: list[str] = []
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
        names = {info.filename for info in infos}
        size = sum(info.file_size for info in infos)
        if size > MAX_UNZIPPED:
            found.append(f"unzipped size {size / 2**20:.0f} MiB is over Lambda's 250 MiB")
        for required in REQUIRED:
            if required not in names:
                found.append(f"missing {required}")
        tops = {PurePosixPath(name).parts[0] for name in names}
        for name in MUST_NOT_SHIP:
            if name in tops:
                found.append(f"ships {name}")
        for module in COMPILED:
            if module in names and bytecode_of(module) not in names:
                found.append(f"no bytecode for {module}: run this with --compile first")
        for name in sorted(names):
            if name.endswith(".dist-info/WHEEL"):
                tags = [line.split(":", 1)[1].strip() for line in package.read(name).decode().splitlines()
                        if line.startswith("Tag:")]  # fmt: skip
                if tags and not any(platform_ok(tag) for tag in tags):
                    dist = PurePosixPath(name).parts[0].removesuffix(".dist-info")
                    found.append(
                        f"{dist}: built for {', '.join(tags)}, not python3.11 on Amazon Linux 2 {ARCH}"
                    )
    return found


def main(argv: list[str]) -> int:
    status = 0
    if argv[:1] == ["--compile"]:
        argv = argv[1:]
        for path in argv:
            compile_package(path)
    for path in argv:
        for problem in problems(path):
            print(f"{path}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
