"""Which tools one hosted request may see: write tools need the write scope; no caller, no tools."""

from __future__ import annotations

from commerce_mcp.hosting.apps import scope_allows
from commerce_mcp.hosting.principal import Principal, current_principal
from commerce_mcp.hosting.settings import READ_SCOPE, WRITE_SCOPE
from commerce_mcp.tools.registry import all_tools


def _visible(scopes: set[str] | None) -> set[str]:
    principal = None if scopes is None else Principal("t", frozenset(scopes), via="api_key")
    token = current_principal.set(principal)
    try:
        return {spec.name for spec in all_tools() if scope_allows(spec)}
    finally:
        current_principal.reset(token)


def test_read_scope_sees_every_read_tool_and_no_write_tool_and_write_scope_sees_all() -> None:
    reads = {spec.name for spec in all_tools() if not spec.writes}
    assert _visible({READ_SCOPE}) == reads
    assert _visible({READ_SCOPE, WRITE_SCOPE}) == {spec.name for spec in all_tools()}


def test_outside_an_authenticated_request_nothing_is_visible() -> None:
    assert _visible(None) == set()
