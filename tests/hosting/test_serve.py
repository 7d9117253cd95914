"""How the hosted server is configured to run: uvicorn logs through our handler."""

from __future__ import annotations

import logging

import pytest

from commerce_mcp.hosting.serve import uvicorn_config
from commerce_mcp.hosting.settings import HostingSettings
from tests.support.logs import server_log

BUYER = "Zelda Quixote-Marchetti, 742 Evergreen Terrace"


def fresh_uvicorn_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh `serve` process: no uvicorn logger configured yet (an in-process server in an
    earlier test may have left uvicorn's own handlers on them); restored after the test."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "level", logging.NOTSET)


def test_uvicorn_logs_an_app_crash_through_our_handler_without_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh_uvicorn_loggers(monkeypatch)
    with server_log(monkeypatch, "INFO") as stream:
        uvicorn_config(object(), HostingSettings(), "INFO")  # uvicorn configures logging here
        try:
            raise RuntimeError(f"no row for {BUYER}")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logged = stream.getvalue()
    assert "Exception in ASGI application" in logged and "RuntimeError" in logged
    assert BUYER not in logged


def test_request_lines_stay_out_of_the_log_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request URL can carry identifiers (a query string a client added): uvicorn's access log is
    kept out, although uvicorn sets its logger to the level it is given."""
    fresh_uvicorn_loggers(monkeypatch)
    with server_log(monkeypatch, "INFO") as stream:
        uvicorn_config(object(), HostingSettings(), "INFO")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "203.0.113.9:50000", "POST", f"/mcp?who={BUYER}", "1.1", 200
        )
    assert BUYER not in stream.getvalue()


def test_capturing_the_server_log_leaves_every_logger_level_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """configure_logging raises the floor of the chatty loggers (httpx, uvicorn.access...): left
    behind, it would hide their records from a later test that reads the log for leaks."""
    for name in ("httpx", "httpcore", "uvicorn.access"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    with server_log(monkeypatch):
        assert logging.getLogger("httpx").level == logging.WARNING
    assert [logging.getLogger(n).level for n in ("httpx", "httpcore", "uvicorn.access")] == [
        logging.NOTSET
    ] * 3
