"""Every variable the program reads is documented, in a README table and in ``.env.example``.

What the program reads: the fields of the settings models (``Settings``; ``HostingSettings`` for hosted
mode), ``agent.ENVIRONMENT`` (what ``ask`` reads) and any ``os.environ`` lookup in the source. A hint or
error that names a variable (``check TIKTOK_API_BASE_URL``) must name a documented one.
"""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

from commerce_mcp import agent
from commerce_mcp.config import Settings
from commerce_mcp.hosting.settings import HostingSettings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "commerce_mcp"
VARIABLE = re.compile(r"\b(?:TIKTOK|AMAZON|COMMERCE_MCP|ANTHROPIC)_[A-Z0-9_]*[A-Z0-9]\b")
#: Upper-case words in text that look like variables but are placeholders in a syntax example.
PLACEHOLDERS = {"TIKTOK_SKU", "AMAZON_SKU"}


def settings_variables() -> set[str]:
    """What the settings models read (from the environment and ``.env``)."""
    return {name.upper() for model in (Settings, HostingSettings) for name in model.model_fields}


def environment_lookups() -> set[str]:
    """Our variables the source reads straight from ``os.environ``."""
    found = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r"environ(?:\.get)?[(\[]\s*\"([A-Z0-9_]+)\"", text))
    return {name for name in found if VARIABLE.fullmatch(name)}


def readme_tables() -> list[str]:
    """The variable names in the first column of the README's ``| Variable |`` tables, in order."""
    names: list[str] = []
    in_table = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| Variable |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("|---"):
            names.extend(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def env_example() -> list[str]:
    """The variables ``.env.example`` assigns (commented-out mentions do not count)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


def named_in_source_text() -> dict[str, Path]:
    """Variable names in string literals under src/ (the sandbox's fake data aside)."""
    found: dict[str, Path] = {}
    strings = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for path in SRC.rglob("*.py"):
        if "sandbox" in path.relative_to(SRC).parts:
            continue
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type in strings:
                    for name in VARIABLE.findall(token.string):
                        found.setdefault(name, path)
    return found


def test_the_readme_tables_document_every_variable_read_once() -> None:
    table = readme_tables()
    assert len(table) == len(set(table)), "a variable is listed twice"
    assert set(table) == settings_variables() | set(agent.ENVIRONMENT) | environment_lookups()


def test_env_example_assigns_every_setting_and_nothing_else() -> None:
    assigned = env_example()
    assert len(assigned) == len(set(assigned)), "a variable is assigned twice"
    assert set(assigned) == settings_variables()


def test_env_example_loads_without_a_problem(tmp_path: Path) -> None:
    from commerce_mcp.config import load_settings

    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"))
    settings, problems = load_settings()
    assert problems == []
    assert not settings.writes_enabled


def test_every_variable_a_message_names_is_documented() -> None:
    documented = set(readme_tables())
    named = named_in_source_text()
    undocumented = {
        name: str(path.relative_to(ROOT))
        for name, path in named.items()
        if name not in documented and name not in PLACEHOLDERS
    }
    assert undocumented == {}
