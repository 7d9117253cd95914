"""The Dockerfile, checked without a Docker engine so it cannot rot unnoticed.

This machine (and CI) has no engine to ``docker build`` with, so the file is read as Docker reads it:
every COPY source must exist, the base image must be a slim Python the project supports, the final
stage must drop root, and the command must be one the real CLI parser takes as ``serve --transport
http``. Then the image's command runs here, with the image's environment, and its HEALTHCHECK must pass.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from commerce_mcp.cli import _parser
from tests.support.http import free_port

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


def _instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate((ROOT / "Dockerfile").read_text().splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return found


def _final_stage() -> list[Instruction]:
    instructions = _instructions()
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[last_from:]


def _words(arguments: str) -> list[str]:
    """An instruction's words: exec form (a JSON array) or shell form."""
    if arguments.startswith("["):
        words = json.loads(arguments)
        assert isinstance(words, list) and all(isinstance(w, str) for w in words), arguments
        return words
    return shlex.split(arguments)


def _command() -> list[str]:
    """What the container runs: ENTRYPOINT followed by CMD, as Docker combines them."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for ins in _final_stage():
        if ins.keyword == "ENTRYPOINT":
            entrypoint = _words(ins.arguments)
        elif ins.keyword == "CMD":
            cmd = _words(ins.arguments)
    return entrypoint + cmd


def _environment() -> dict[str, str]:
    """The ENV of the final stage (``KEY=VALUE`` pairs)."""
    env: dict[str, str] = {}
    for ins in _final_stage():
        if ins.keyword == "ENV":
            for word in shlex.split(ins.arguments):
                key, sep, value = word.partition("=")
                assert sep, f"line {ins.line}: write ENV as KEY=VALUE, not {word!r}"
                env[key] = value
    return env


def _healthcheck() -> list[str]:
    (check,) = [ins for ins in _final_stage() if ins.keyword == "HEALTHCHECK"]
    _, _, command = check.arguments.partition("CMD ")
    assert command, "HEALTHCHECK needs a CMD"
    return _words(command.strip())


def test_every_copy_source_exists_in_the_repository() -> None:
    copies = [ins for ins in _instructions() if ins.keyword in ("COPY", "ADD")]
    assert copies
    for ins in copies:
        words = _words(ins.arguments)
        if any(w.startswith("--from=") for w in words):
            continue  # copied from an earlier stage, not from the repository
        sources = [w for w in words if not w.startswith("--")][:-1]
        assert sources, f"line {ins.line}: COPY without a source"
        for source in sources:
            assert list(ROOT.glob(source)), f"line {ins.line}: {source} is not in the repository"
            assert not _ignored(source), f"line {ins.line}: .dockerignore leaves {source} out"


def _ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (its plain patterns)."""
    ignore = ROOT / ".dockerignore"
    patterns = [
        line.strip()
        for line in (ignore.read_text().splitlines() if ignore.exists() else [])
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch.fnmatch(path.rstrip("/"), pattern) for pattern in patterns)


def test_the_build_context_leaves_out_secrets_and_the_virtualenv() -> None:
    assert _ignored(".env") and _ignored(".venv") and _ignored(".git")


def test_the_base_images_are_slim_pythons_the_project_supports() -> None:
    supported = SpecifierSet(PYPROJECT["project"]["requires-python"])
    images = [_words(ins.arguments)[0] for ins in _instructions() if ins.keyword == "FROM"]
    assert images
    for image in images:
        match = re.fullmatch(r"python:(\d+\.\d+)(?:\.\d+)?-slim(?:-\w+)?", image)
        assert match, f"{image} is not a slim Python image"
        assert Version(match.group(1)) in supported, f"{image} vs requires-python {supported}"


def test_the_final_stage_runs_as_a_user_that_is_not_root() -> None:
    users = [ins.arguments.split(":")[0] for ins in _final_stage() if ins.keyword == "USER"]
    assert users, "the final stage never leaves root"
    assert users[-1] not in ("root", "0")


def test_the_command_is_serve_over_http_as_the_cli_parses_it() -> None:
    program, *arguments = _command()
    assert program in PYPROJECT["project"]["scripts"], program
    args = _parser().parse_args(arguments)
    assert args.command == "serve"
    assert args.transport == "http"
    assert not args.sandbox, "the image serves real sellers, not the fakes"


def test_the_port_it_listens_on_is_exposed_and_health_checked() -> None:
    port = _environment()["COMMERCE_MCP_HTTP_PORT"]
    exposed = [ins.arguments for ins in _final_stage() if ins.keyword == "EXPOSE"]
    assert port in exposed
    assert f"127.0.0.1:{port}/healthz" in " ".join(_healthcheck())
    assert _environment()["COMMERCE_MCP_HTTP_HOST"] == "0.0.0.0"  # reachable from outside


def test_the_images_command_and_environment_start_a_server_its_healthcheck_accepts(
    tmp_path: Path,
) -> None:
    image_port = _environment()["COMMERCE_MCP_HTTP_PORT"]
    port = str(free_port())
    env = {
        **os.environ,
        **_environment(),
        # Loopback and a free port here; everything else exactly as in the image.
        "COMMERCE_MCP_HTTP_HOST": "127.0.0.1",
        "COMMERCE_MCP_HTTP_PORT": port,
        "COMMERCE_MCP_STATE_DIR": str(tmp_path / "data"),
    }
    _, *arguments = _command()  # the script is run as `python -m commerce_mcp` here
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "commerce_mcp", *arguments], env=env, stdout=log, stderr=log
    )
    try:
        check = [
            sys.executable if word == "python" else word.replace(f":{image_port}/", f":{port}/")
            for word in _healthcheck()
        ]
        deadline = time.monotonic() + 60
        while True:
            healthy = subprocess.run(check, capture_output=True, timeout=30).returncode == 0
            if healthy or server.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # a real process starting, not simulated time
        assert healthy, (tmp_path / "server.log").read_text()[-2000:]
    finally:
        server.terminate()
        server.wait(30)
