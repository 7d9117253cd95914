"""Where state lives on disk."""

from __future__ import annotations

from pathlib import Path

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
