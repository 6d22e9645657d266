"""`zappa package` builds each function's Lambda package offline (no AWS
credentials, no network), and the package runs on its own.

Packaging copies the whole virtualenv, so it is slow: one stage per function
role is built here (the region changes only zappa_settings.py, shown below),
and every stage's settings are loaded in test_deploy_settings.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_events import ROOT, apigw_v1

BUILT = ("syd_writer", "sin_reader", "syd_operator")
VENV = Path(sys.executable).parent.parent
SITE = VENV / "lib" / "python3.11" / "site-packages"


def checker() -> Any:
    spec = importlib.util.spec_from_file_location("lambda_package", ROOT / "infra" / "lambda_package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("packages")
    env = {
        "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(VENV),
        "HOME": str(out),
        "TMPDIR": str(out),
        "AWS_REGION": "ap-southeast-2",  # dummies: `zappa package` calls no AWS API
        "AWS_ACCESS_KEY_ID": "none",
        "AWS_SECRET_ACCESS_KEY": "none",
    }
    # Side by side: packaging is mostly file copying, which overlaps well.
    started = time.monotonic()
    running = {
        stage: subprocess.Popen(
            [str(VENV / "bin" / "zappa"), "package", stage, "-o", str(out / f"{stage}.zip")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for stage in BUILT
    }
    built: dict[str, Path] = {}
    for stage, process in running.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]
        built[stage] = out / f"{stage}.zip"
    sizes = ", ".join(f"{stage} {path.stat().st_size / 2**20:.1f} MiB" for stage, path in built.items())
    print(f"\nzappa package x{len(built)}: {time.monotonic() - started:.1f} s ({sizes})", file=sys.stderr)
    return built


@pytest.fixture(scope="module")
def compiled_writer(packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The writer's package after `infra/lambda_package.py --compile`, as docs/deploy.md ships it."""
    path = tmp_path_factory.mktemp("compiled") / "syd_writer.zip"
    path.write_bytes(packages["syd_writer"].read_bytes())
    assert checker().main(["--compile", str(path)]) in (0, 1)  # 1: this machine's too-new wheels
    return path


def test_each_function_role_packages_offline(packages: dict[str, Path]) -> None:
    for stage, path in packages.items():
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            settings = package.read("zappa_settings.py").decode()
        assert f"API_STAGE='{stage}'" in settings
        assert "DJANGO_SETTINGS='vaultsite.settings'" in settings
        entry = {
            "handler.py",
            "vaultsite/lambda_handler.py",
            "tokens/vault.py",
            "tokens/migrations/0001_initial.py",
        }
        assert entry <= names, stage
        tops = {name.split("/")[0] for name in names}
        assert not tops & {"tests", "docs", "infra", "scripts", "moto", "playwright", "_pytest", ".git"}, (
            stage
        )


def test_packages_differ_only_in_their_zappa_settings(packages: dict[str, Path]) -> None:
    def contents(path: Path) -> dict[str, int]:
        with zipfile.ZipFile(path) as package:
            return {info.filename: info.CRC for info in package.infolist()}

    writer, reader = contents(packages["syd_writer"]), contents(packages["sin_reader"])
    assert writer.keys() == reader.keys()
    assert {name for name in writer if writer[name] != reader[name]} == {
        "zappa_settings.py",
        "package_info.json",
    }


def test_the_checker_flags_only_wheels_built_for_a_newer_glibc_than_lambda_s(compiled_writer: Path) -> None:
    # This test virtualenv was installed on a newer Linux than Lambda's python3.11
    # (Amazon Linux 2): the checker must name each such wheel, and nothing else.
    lambda_package = checker()
    found = lambda_package.problems(str(compiled_writer))
    assert all("not python3.11 on Amazon Linux 2" in problem for problem in found), found
    too_new = set()
    for wheel in SITE.glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        if tags and not any(lambda_package.platform_ok(tag) for tag in tags):
            too_new.add(wheel.parent.name.removesuffix(".dist-info"))
    flagged = {problem.split(":")[0] for problem in found}
    assert flagged <= too_new


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("py3-none-any", True),
        ("cp311-cp311-manylinux2014_x86_64", True),
        ("cp311-cp311-manylinux_2_17_x86_64", True),
        ("cp37-abi3-manylinux_2_26_x86_64", True),
        ("cp311-abi3-manylinux_2_28_x86_64", False),
        ("cp311-abi3-manylinux_2_34_x86_64", False),
        ("cp312-cp312-manylinux2014_x86_64", False),
        ("cp311-cp311-manylinux2014_aarch64", False),
        ("cp311-cp311-musllinux_1_2_x86_64", False),
    ],
)
def test_the_checker_knows_which_wheels_run_on_lambda_python3_11(tag: str, ok: bool) -> None:
    assert checker().platform_ok(tag) is ok


def test_a_package_as_zappa_builds_it_is_refused_until_compiled(packages: dict[str, Path]) -> None:
    # Zappa leaves every __pycache__ out and /var/task is read-only: without
    # --compile, each cold start would compile every module it imports.
    found = checker().problems(str(packages["syd_writer"]))
    missing = sorted(p.split(": ")[0] for p in found if "bytecode" in p)
    assert missing == sorted(f"no bytecode for {module}" for module in checker().COMPILED)


def test_the_packaged_writer_runs_from_the_zip_alone(compiled_writer: Path, tmp_path: Path) -> None:
    """Unzipped, with only the standard library besides the package (as on Lambda),
    and nothing of the package compiled from source: its bytecode is used as shipped."""
    with zipfile.ZipFile(compiled_writer) as package:
        package.extractall(tmp_path)
    script = (
        "import json, sys, importlib.machinery\n"
        "compiled = []\n"
        "to_code = importlib.machinery.SourceFileLoader.source_to_code\n"
        "def counted(self, data, path, **kw):\n"
        "    compiled.append(str(path))\n"
        "    return to_code(self, data, path, **kw)\n"
        "importlib.machinery.SourceFileLoader.source_to_code = counted\n"
        f"sys.path[:0] = [{str(tmp_path)!r}]\n"
        "from vaultsite.lambda_handler import lambda_handler\n"
        "class Context: function_name = 'token-vault-syd-writer'; aws_request_id = 'r-1'\n"
        "health = lambda_handler(json.loads(sys.argv[1]), Context())\n"
        "bad = lambda_handler({'data': 'not an object'}, Context())\n"
        "import django, zappa\n"
        "print(json.dumps({'health': health['statusCode'], 'bad': bad, 'django': django.__file__,"
        " 'zappa': zappa.__file__, 'compiled': compiled}))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_REGION": "ap-southeast-2",
        "AWS_ACCESS_KEY_ID": "none",
        "AWS_SECRET_ACCESS_KEY": "none",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: AWS calls fail fast, locally
        "AWS_MAX_ATTEMPTS": "1",
        "VAULT_FUNCTION_ROLE": "writer",
        "METRICS_SINK": "emf",
        "ALLOWED_HOSTS": ".execute-api.ap-southeast-2.amazonaws.com",
        "SECRET_KEY": "s",
        "API_KEY_PEPPER": "p",
        "AUDIT_HMAC_KEY": "a",
    }
    event = apigw_v1("syd_writer", "GET", "/healthz")
    done = subprocess.run(
        [sys.executable, "-B", "-I", "-S", "-c", script, json.dumps(event)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["health"] == 200
    assert result["bad"]["error"]["code"] == "invalid_request"
    assert result["django"].startswith(str(tmp_path)) and result["zappa"].startswith(str(tmp_path))
    assert [path for path in result["compiled"] if path.startswith(str(tmp_path))] == []
