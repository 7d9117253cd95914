"""A failing tool call leaves no argument value in the server's log, at any level.

Arguments carry buyers' names and addresses, order ids and confirmation tokens; a failure message may
quote them (a platform's "no order X"), and an exception's text may hold anything. The calls go
through a real ``mcp.Client`` with logging configured as ``commerce-mcp serve`` configures it, at
DEBUG, and the test reads what the handler wrote.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.logs import server_log
from tests.support.mcp import connect, error_text

from commerce_mcp.amazon.client import AmazonMcfClient
from commerce_mcp.logsafe import MessageFreeTracebacks, traceback_without_messages

pytestmark = pytest.mark.anyio

BUYER = "Zelda Quixote-Marchetti"
STREET = "742 Evergreen Terrace"
TOKEN = "ctok-9f8e7d6c5b4a39281706"
ORDER = "ZQM-PII-ORDER-77120"
SECRETS = (BUYER, STREET, TOKEN, ORDER)


@pytest.fixture(name="server_log")
def _server_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the server's stderr handler writes, at DEBUG."""
    with server_log(monkeypatch) as stream:
        yield stream


def recipient() -> dict[str, Any]:
    return {
        "name": BUYER,
        "address_line1": STREET,
        "city": "Springfield",
        "state_or_region": "OR",
        "postal_code": "97403",
        "country_code": "US",
    }


async def test_failing_calls_log_no_argument_values(
    sandbox: Any, server_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crashes(self: AmazonMcfClient, order_id: str) -> Any:
        # A bug whose exception text quotes the caller's data, as a KeyError or a pydantic
        # ValidationError would.
        raise RuntimeError(f"no shipment row for {order_id} ({BUYER}, {STREET})")

    async with connect(sandbox) as client:
        # A platform refusal whose message quotes the argument (NotFound names the order).
        missing = await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": ORDER})
        assert ORDER in error_text(missing)  # the model is told which order...
        # A confirmation token this server never issued, with a buyer's address alongside.
        refused = await client.call_tool(
            "create_mcf_order",
            {
                "seller_fulfillment_order_id": "zqm-1",
                "displayable_order_id": "ZQM-1",
                "items": [{"seller_sku": "GLOW-SERUM-30ML", "quantity": 1}],
                "recipient": recipient(),
                "confirmation_token": TOKEN,
            },
        )
        assert "confirmation_token" in error_text(refused)
        # Arguments that fail the input model, values included.
        invalid = await client.call_tool(
            "get_mcf_order", {"seller_fulfillment_order_id": ORDER * 10}
        )
        error_text(invalid)
        # A crash inside the tool.
        monkeypatch.setattr(AmazonMcfClient, "get_fulfillment_order", crashes)
        crashed = await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": ORDER})
        assert "bug in commerce-mcp" in error_text(crashed)
    logged = server_log.getvalue()
    assert "get_mcf_order" in logged  # ...and the log still says which tool failed, and how
    assert "RuntimeError" in logged and "crashes" in logged  # the crash's type and where
    for value in SECRETS:
        assert value not in logged, f"{value!r} reached the log:\n{logged}"


def test_logged_tracebacks_keep_types_and_frames_but_no_messages() -> None:
    """Also for tracebacks the SDK logs itself (a crash outside our tool wrapper), and whichever
    handler formatted the record first."""
    record = None
    try:
        try:
            raise KeyError(BUYER)
        except KeyError as exc:
            raise ValueError(f"bad recipient {STREET}") from exc
    except ValueError:
        record = logging.LogRecord("mcp", logging.ERROR, __file__, 1, "crash", (), sys.exc_info())
    logging.Formatter().format(record)  # another handler cached the full text first
    text = MessageFreeTracebacks("%(message)s").format(record)
    assert "KeyError (message not logged)" in text and "ValueError (message not logged)" in text
    assert "direct cause" in text and "test_logged_tracebacks" in text
    assert BUYER not in text and STREET not in text


def test_a_task_group_crash_is_logged_with_its_members_types_and_frames() -> None:
    """A crash inside a task group (the SDK runs its work in anyio's) surfaces as an exception group
    whose own frames say nothing: the failure is in its members."""

    async def reads_the_recipient() -> None:
        raise KeyError(BUYER)

    async def crashes() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(reads_the_recipient())

    try:
        asyncio.run(crashes())
    except ExceptionGroup as failed:
        text = traceback_without_messages(failed)
    assert "ExceptionGroup (message not logged)" in text
    assert "KeyError (message not logged)" in text and "reads_the_recipient" in text
    assert BUYER not in text
