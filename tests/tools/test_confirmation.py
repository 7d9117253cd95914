"""The one write-confirmation path (WriteGate), and write tools called as plain functions, no server.

Tool functions take their services and gate as arguments, so the preview -> token -> execute sequence,
a decline and a refused token can be exercised directly; the MCP surface is covered elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.sandbox import plentiful_skus, private_sandbox, recipient, sandbox_services

from commerce_mcp.config import load_settings
from commerce_mcp.errors import InvalidRequest, StateStoreUnavailable
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.services import Services
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.tools import amazon
from commerce_mcp.tools._common import Reply
from commerce_mcp.tools.amazon_views import Line, Recipient
from commerce_mcp.tools.confirmation import NOT_ASKED, Approval, ConfirmationBook, WriteGate

pytestmark = pytest.mark.anyio


def _services(clock: VirtualClock, store: MemoryStore | None = None) -> Services:
    settings, problems = load_settings(commerce_mcp_allow_writes=True)
    return Services(
        settings=settings, problems=problems, clock=clock, _store=store or MemoryStore()
    )


class _Steps:
    """Records which of the three steps the gate ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.token: str | None = None

    async def preview(self, issue: Any) -> str:
        self.token = issue()
        self.ran.append("preview")
        return "preview"

    def declined(self) -> str:
        self.ran.append("declined")
        return "declined"

    async def execute(self) -> str:
        self.ran.append("execute")
        return "executed"

    async def run(self, gate: WriteGate, bound: dict[str, Any], **how: Any) -> str:
        options = {"approval": NOT_ASKED, "token": None, **how}
        return await gate.run(
            bound=bound,
            preview=self.preview,
            declined=self.declined,
            execute=self.execute,
            **options,
        )


async def test_a_preview_token_executes_exactly_that_payload_once() -> None:
    clock = VirtualClock()
    gate = WriteGate(ConfirmationBook(secret=b"k"), _services(clock), "some_write")
    steps = _Steps()
    assert await steps.run(gate, {"sku": "A", "quantity": 3}) == "preview"
    token = steps.token
    assert token is not None
    with pytest.raises(InvalidRequest, match="does not match these arguments"):
        await steps.run(gate, {"sku": "A", "quantity": 4}, token=token)
    assert await steps.run(gate, {"sku": "A", "quantity": 3}, token=token) == "executed"
    with pytest.raises(InvalidRequest, match="already used"):
        await steps.run(gate, {"sku": "A", "quantity": 3}, token=token)
    assert steps.ran == ["preview", "execute"]


async def test_a_token_expires_and_one_from_another_key_is_named_as_such() -> None:
    clock = VirtualClock()
    services = _services(clock)
    ours = WriteGate(ConfirmationBook(secret=b"ours"), services, "some_write")
    theirs = WriteGate(ConfirmationBook(secret=b"theirs"), services, "some_write")
    steps = _Steps()
    await steps.run(theirs, {"x": 1})
    with pytest.raises(InvalidRequest, match="another server instance"):
        await steps.run(ours, {"x": 1}, token=steps.token)
    await steps.run(ours, {"x": 1})
    clock.advance(ours.ttl + 1)
    with pytest.raises(InvalidRequest, match="expired"):
        await steps.run(ours, {"x": 1}, token=steps.token)
    assert "execute" not in steps.ran


class _ClaimsFail(MemoryStore):
    async def put_if_absent(self, *args: Any, **kwargs: Any) -> Any:
        raise StateStoreUnavailable("state store unavailable: Redis did not answer")


async def test_a_token_the_store_cannot_claim_runs_nothing_and_says_so() -> None:
    gate = WriteGate(
        ConfirmationBook(secret=b"k"), _services(VirtualClock(), _ClaimsFail()), "some_write"
    )
    steps = _Steps()
    await steps.run(gate, {"x": 1})
    with pytest.raises(StateStoreUnavailable, match="nothing was sent"):
        await steps.run(gate, {"x": 1}, token=steps.token)
    assert steps.ran == ["preview"]


async def test_an_asked_person_decides_without_a_token() -> None:
    gate = WriteGate(ConfirmationBook(), _services(VirtualClock()), "some_write")
    steps = _Steps()
    assert await steps.run(gate, {}, approval=Approval(approve=False)) == "declined"
    assert await steps.run(gate, {}, approval=Approval(approve=True)) == "executed"
    assert steps.ran == ["declined", "execute"]
    assert WriteGate.confirming(NOT_ASKED, "cf-token") is True
    assert WriteGate.confirming(Approval(approve=True), None) is False


@pytest.fixture
def fakes() -> Iterator[Any]:
    with private_sandbox() as servers:
        yield servers


async def test_create_mcf_order_called_as_a_function_previews_declines_and_creates(
    fakes: Any,
) -> None:
    services = sandbox_services(fakes)
    gate = WriteGate(ConfirmationBook(), services, "create_mcf_order")
    args: dict[str, Any] = {
        "items": [Line(seller_sku=plentiful_skus(fakes)[0], quantity=1)],
        "recipient": Recipient(**recipient("Direct Call")),
    }
    try:
        preview: Reply[amazon.McfWriteResult] = await amazon.create_mcf_order(
            services, gate, **args
        )
        declined = await amazon.create_mcf_order(
            services, gate, **args, approval=Approval(approve=False)
        )
        assert fakes.amazon.order_ids() == []
        token = preview.result.confirmation_token
        assert preview.result.status == "preview" and token and token in preview.text
        with pytest.raises(InvalidRequest, match="does not match"):
            await amazon.create_mcf_order(
                services, gate, **args, comment="another comment", confirmation_token=token
            )
        created = await amazon.create_mcf_order(services, gate, **args, confirmation_token=token)
    finally:
        await services.aclose()
    assert declined.result.status == "declined"
    assert created.result.status == "created"
    assert fakes.amazon.order_ids() == [created.result.seller_fulfillment_order_id]
