"""Where state lives on disk, and whether that place is usable."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from commerce_mcp.config import Settings

APP_NAME = "commerce-mcp"
DATABASE_NAME = "state.sqlite3"


def default_state_dir(settings: Settings) -> Path:
    """``COMMERCE_MCP_STATE_DIR`` if set, else the platform's per-user data directory."""
    if settings.commerce_mcp_state_dir is not None:
        return Path(settings.commerce_mcp_state_dir).expanduser()
    import platformdirs  # lazily: only needed when no directory is configured

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database_path(settings: Settings) -> Path:
    """The SQLite file inside :func:`default_state_dir`."""
    return default_state_dir(settings) / DATABASE_NAME


StateDirStatus = Literal[
    "writable", "will_be_created", "not_a_directory", "not_writable", "cannot_create"
]


@dataclass(frozen=True)
class StateDirCheck:
    """What :func:`check_state_dir` found: usable or not, and a sentence saying what to do."""

    path: Path
    status: StateDirStatus
    detail: str

    @property
    def ok(self) -> bool:
        """True when the store can live there (now, or once the directory is created)."""
        return self.status in ("writable", "will_be_created")


_ELSEWHERE = "set COMMERCE_MCP_STATE_DIR to a directory you can write"


def check_state_dir(path: Path) -> StateDirCheck:
    """Whether ``path`` exists and is writable, or could be created; never creates anything.

    Writability is tried (a temporary file is created and removed) rather than inferred from
    permission bits, which say nothing useful for root, ACLs or read-only mounts.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            return StateDirCheck(
                path,
                "not_a_directory",
                f"{path} exists but is not a directory; move it away, or {_ELSEWHERE}",
            )
        problem = _write_problem(path)
        database = path / DATABASE_NAME
        if problem is None and database.exists():
            problem = _open_problem(database)
        if problem is not None:
            return StateDirCheck(
                path,
                "not_writable",
                f"{path} is not writable ({problem}); fix its permissions, or {_ELSEWHERE}",
            )
        return StateDirCheck(path, "writable", f"{path} exists and is writable")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return StateDirCheck(
            path,
            "cannot_create",
            f"{path} does not exist and cannot be created: {ancestor} is not a directory;"
            f" {_ELSEWHERE}",
        )
    problem = _write_problem(ancestor)
    if problem is not None:
        return StateDirCheck(
            path,
            "cannot_create",
            f"{path} does not exist and cannot be created: {ancestor} is not writable ({problem});"
            f" create it yourself, or {_ELSEWHERE}",
        )
    return StateDirCheck(
        path, "will_be_created", f"{path} does not exist yet; it will be created on first use"
    )


def _write_problem(directory: Path) -> str | None:
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".commerce-mcp-probe-"):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _open_problem(database: Path) -> str | None:
    try:
        with database.open("r+b"):
            return None
    except OSError as exc:
        return f"{database.name}: {exc.strerror or type(exc).__name__}"
