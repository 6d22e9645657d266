"""docs/deploy.md's rehearsal, run as written with today's clock: its curl
requests and Lambda payloads go through Zappa's handler of the stage each
names, with API keys issued as its step 6 issues them."""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

from tests.lambda_events import ROOT, apigw_v1, load_stage, response_json
from tokens import audit
from tokens.models import ApiClient
from vaultsite.lambda_handler import lambda_handler

GUIDE = ROOT / "docs" / "deploy.md"
HOST_ROLES = {"tokenize.": "writer", "detokenize.": "reader", "ops.": "operator"}


def section(title: str) -> list[str]:
    """The commands of one section's indented blocks: comments dropped, continuation lines joined."""
    text = GUIDE.read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    commands, current = [], ""
    for line in text.splitlines():
        if not line.startswith("    ") or line.strip().startswith("#"):
            continue
        current += " " + re.sub(r"\s+# .*$", "", line.strip())
        if current.endswith("\\"):
            current = current[:-1]
            continue
        commands.append(current.strip())
        current = ""
    return commands


def stage_of_url(url: str) -> tuple[str, str]:
    """(stage, path) an https URL of the guide reaches (Sydney for the hostnames)."""
    host, _, path = url.removeprefix("https://").partition("/")
    for prefix, role in HOST_ROLES.items():
        if host.startswith(prefix):
            return f"syd_{role}", "/" + path
    stage, _, rest = path.partition("/")
    assert ".execute-api." in host, url
    return stage, "/" + rest


def issued_keys() -> dict[str, str]:
    keys = {}
    text = GUIDE.read_text().split("## 6. API keys and the first operator\n", 1)[1].split("\n## ", 1)[0]
    for name, scopes, variable in re.findall(r"createapiclient (\S+) --scopes (\S+) +# -> (\w+)", text):
        _, keys[variable] = ApiClient.issue(name, scopes.split(","))
    return keys


def test_the_rehearsal_runs_as_written_today(db: Any, settings: Any, tmp_path: Path) -> None:
    settings.VAULT_REPLICATION_WAIT = 0.05
    variables = issued_keys()
    assert set(variables) == {"WRITER_KEY", "READER_KEY"}
    ran = []
    for command in section("7. Rehearsal"):
        for name, value in variables.items():
            command = command.replace(f"${name}", value)
        if command.startswith("TTL="):
            ahead = int(re.search(r"\+ (\d+) \)\)", command).group(1))  # type: ignore[union-attr]
            variables["TTL"] = str(int(time.time()) + ahead)
            continue
        if re.match(r"[A-Z_]+=\w+$", command):
            name, value = command.split("=")
            variables[name] = value
            continue
        words = shlex.split(command)
        if words[0] == "curl":
            url = next(w for w in words if w.startswith("https://"))
            stage, path = stage_of_url(url)
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            header = next((w for w in words if w.startswith("Authorization: Bearer ")), "")
            key = header.removeprefix("Authorization: Bearer ") or None
            with load_stage(stage, tmp_path, settings) as fn:
                response = lambda_handler(apigw_v1(stage, method, path, body, key), fn.context())
            assert response["statusCode"] in (200, 201), (command, response)
            answer = response_json(response)
            if "tokenId" in answer and "TOKEN" not in variables:
                variables["TOKEN"] = answer["tokenId"]
            ran.append((stage, path, answer))
        elif words[:3] == ["aws", "lambda", "invoke"]:
            function = words[words.index("--function-name") + 1]
            stage = function.removeprefix("token-vault-").replace("-", "_", 1)
            payload = json.loads(words[words.index("--payload") + 1])
            assert words[words.index("--region") + 1] == (
                "ap-southeast-2" if "syd" in stage else "ap-southeast-1"
            )
            with load_stage(stage, tmp_path, settings) as fn:
                answer = lambda_handler(payload, fn.context())
            assert "error" not in answer, (command, answer)
            ran.append((stage, "invoke", answer))
        elif words[:2] == ["zappa", "manage"]:
            assert words[3:] == ["verify_audit"]
            assert audit.verify().ok
            ran.append((words[2], "manage", words[3]))
    minted = [a for _, _, a in ran if isinstance(a, dict) and set(a) == {"tokenId", "TTL"}]
    assert len(minted) == 2 and all(a["TTL"] == int(variables["TTL"]) for a in minted)
    revealed = [a.get("data", a)["drivers_license"] for _, path, a in ran if path.endswith("detokenize")]
    revealed += [a["drivers_license"] for stage, path, a in ran if path == "invoke" and "reader" in stage]
    assert revealed == ["987654321", "987654321"]
    assert [stage for stage, _, _ in ran] == [
        "syd_writer", "syd_writer", "sin_reader", "syd_writer", "sin_reader", "syd_operator",
    ]  # fmt: skip
