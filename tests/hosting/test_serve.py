"""How the hosted server is configured to run: uvicorn logs through our handler."""

from __future__ import annotations

import logging

import pytest

from commerce_mcp.hosting.serve import uvicorn_config
from commerce_mcp.hosting.settings import HostingSettings
from tests.support.logs import server_log

BUYER = "Zelda Quixote-Marchetti, 742 Evergreen Terrace"


def test_uvicorn_logs_an_app_crash_through_our_handler_without_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a fresh `serve` process: no uvicorn logger configured yet (an in-process server in an
    # earlier test may have left uvicorn's own handlers on them).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)
    with server_log(monkeypatch, "INFO") as stream:
        uvicorn_config(object(), HostingSettings(), "INFO")  # uvicorn configures logging here
        try:
            raise RuntimeError(f"no row for {BUYER}")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logged = stream.getvalue()
    assert "Exception in ASGI application" in logged and "RuntimeError" in logged
    assert BUYER not in logged
