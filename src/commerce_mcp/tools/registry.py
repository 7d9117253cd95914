"""Every tool as a value, and the one place that decides which tools a session sees.

A tool is a plain module-level async function: its first parameter is the :class:`Services` of the
session calling it, the rest are its typed arguments, and it returns a :class:`Reply` (typed result +
compact text). It can be called and tested without a server. A :class:`ToolSpec` adds what the server
needs to publish it (title, toolset, annotations).

A server does not import the tools to list them: :func:`register_tools` publishes each one from the
checked-in manifest (``tools.manifest``: its :class:`PublishedTool`, what tools/list says plus its
:class:`ToolCard`) and builds the MCP tool from its spec on the first call, so start-up pays for neither
the platform clients behind the tool modules nor schema generation.

Injected parameters, filled here and never part of a tool's input schema:

* ``services`` — from the provider, once per call (stdio: one constant; hosted: the tenant's);
* ``gate`` — a :class:`WriteGate` for write tools (the one preview -> confirm -> execute path);
* ``progress`` — reports progress to the client for long reads and writes.

What a session sees is decided here only: the configured toolsets, writes on or off, and a per-request
``visible(card)`` hook (e.g. a read-only OAuth scope sees no write tools), consulted both when tools
are listed and when one is called.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from mcp.types import Tool as MCPTool

from commerce_mcp.config import Settings
from commerce_mcp.errors import CommerceError
from commerce_mcp.services import Services
from commerce_mcp.tools._arguments import REGENERATE, CommerceServer
from commerce_mcp.tools._common import (
    READ,
    Reply,
    error_result,
    respond,
    run_bounded,
    tool_error,
)
from commerce_mcp.tools.confirmation import ConfirmationBook, WriteGate

Toolset = Literal["tiktok", "amazon", "crosschannel"]
#: Gives the services for the call being handled: a constant over stdio; in hosted mode it may read
#: the current request (e.g. a contextvar set by the HTTP authentication middleware).
ServicesProvider = Callable[[], "Services | Awaitable[Services]"]
ToolFunction = Callable[..., Awaitable[Reply[Any]]]

#: Parameter names the registry fills; a tool function may declare any of them.
INJECTED = ("services", "gate", "progress")


@dataclass(frozen=True, kw_only=True)
class ToolCard:
    """What decides whether a session sees a tool, known without importing it."""

    title: str
    #: None: always listed, whatever the toolsets (get_connection_status).
    toolset: Toolset | None
    annotations: ToolAnnotations
    name: str = ""
    #: The module whose ``TOOLS`` holds the tool's :class:`ToolSpec`.
    module: str = ""

    @property
    def writes(self) -> bool:
        """True for a tool that changes something on a platform (hidden when writes are off)."""
        return self.annotations.read_only_hint is not True


@dataclass(frozen=True, kw_only=True)
class ToolSpec(ToolCard):
    """A tool function and how it is published: its name is the function's, its module the function's."""

    fn: ToolFunction

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.fn.__name__)
        if not self.module:
            object.__setattr__(self, "module", self.fn.__module__)


@dataclass(frozen=True, kw_only=True)
class PublishedTool(ToolCard):
    """A tool as the manifest publishes it: its card and its tools/list entry (``tools.manifest``)."""

    tool: MCPTool


Card = TypeVar("Card", bound=ToolCard)


def read_tool(fn: ToolFunction, *, title: str, toolset: Toolset | None) -> ToolSpec:
    """A tool that only reads."""
    return ToolSpec(fn=fn, title=title, toolset=toolset, annotations=READ)


def write_tool(
    fn: ToolFunction,
    *,
    title: str,
    toolset: Toolset,
    idempotent: bool,
    destructive: bool = True,
) -> ToolSpec:
    """A tool that changes something on a platform; it previews first and needs a confirmation."""
    annotations = ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )
    return ToolSpec(fn=fn, title=title, toolset=toolset, annotations=annotations)


def all_tools() -> tuple[ToolSpec, ...]:
    """Every tool, in listing order: status, then the TikTok, Amazon and cross-channel toolsets."""
    # Imported here: the tool modules import this one for ToolSpec.
    from commerce_mcp.tools import (
        amazon,
        crosschannel,
        inventory,
        status,
        tiktok,
        tiktok_analytics,
        tiktok_writes,
    )

    return (
        *status.TOOLS,
        *tiktok.TOOLS,
        *tiktok_analytics.TOOLS,
        *tiktok_writes.TOOLS,
        *amazon.TOOLS,
        *inventory.TOOLS,
        *crosschannel.TOOLS,
    )


def enabled(cards: Iterable[Card], settings: Settings) -> list[Card]:
    """The tools the configuration allows: its toolsets, and write tools only when writes are on."""
    return [
        card
        for card in cards
        if (card.toolset is None or card.toolset in settings.toolsets)
        and (settings.writes_enabled or not card.writes)
    ]


def register_tools(
    server: CommerceServer,
    published: Sequence[PublishedTool],
    provider: ServicesProvider,
    *,
    book: ConfirmationBook,
    visible: Callable[[ToolCard], bool] | None = None,
) -> None:
    """List ``published`` on ``server``, each built from its spec on its first call.

    ``visible`` may hide or refuse any of them per request.
    """
    by_name = {card.name: card for card in published}
    for card in published:

        def build(card: ToolCard = card) -> None:
            add_tool(server, checked_spec(card), provider, book)

        server.defer_tool(card.tool, build)
    if visible is not None:
        check = visible
        server.tool_visible = lambda name: name not in by_name or check(by_name[name])


def add_tool(
    server: CommerceServer, spec: ToolSpec, provider: ServicesProvider, book: ConfirmationBook
) -> None:
    """Register ``spec`` on ``server`` now (the SDK builds its argument model and schemas)."""
    server.add_tool(
        bind(spec, provider, book),
        name=spec.name,
        title=spec.title,
        annotations=spec.annotations,
    )
    # The structured content is dumped from the result model the tool returned (``respond``), so the
    # SDK validating that dump against the same model again costs every call and can find nothing.
    server.trust_structured_content(spec.name)


def checked_spec(card: ToolCard) -> ToolSpec:
    """The spec ``card`` describes, refused when it decides visibility differently than the card.

    Whether a session may see or call a tool (toolset, read or write) is decided from the manifest's
    card before the code is imported; a card that disagrees with the code would let a write tool
    through as a read, so such a tool is not built at all until the manifest is regenerated.
    """
    spec = spec_of(card)
    if (spec.toolset, spec.annotations, spec.title) != (card.toolset, card.annotations, card.title):
        raise LookupError(
            f"the manifest entry for {card.name!r} disagrees with its code on toolset, title or"
            f" annotations; regenerate it: {REGENERATE}"
        )
    return spec


def spec_of(card: ToolCard) -> ToolSpec:
    """The spec ``card`` describes, from its module's ``TOOLS`` (importing the module)."""
    specs: Iterable[ToolSpec] = getattr(importlib.import_module(card.module), "TOOLS", ())
    for spec in specs:
        if spec.name == card.name:
            return spec
    raise LookupError(f"{card.module}.TOOLS has no tool {card.name!r}; regenerate it: {REGENERATE}")


async def services_from(provider: ServicesProvider) -> Services:
    """The services for this call, whether the provider answers at once or must be awaited."""
    found = provider()
    return await found if inspect.isawaitable(found) else found


def bind(spec: ToolSpec, provider: ServicesProvider, book: ConfirmationBook) -> Callable[..., Any]:
    """The function the SDK registers for ``spec``: the tool's own signature minus what is injected.

    It gets the session's services, runs the tool inside its deadline and error boundary, and renders
    the reply. The SDK reads the signature (input schema, ``Resolve`` markers, the output model in the
    return annotation), so it is built from the tool function's, with annotations evaluated.
    """
    fn = spec.fn
    hints = typing.get_type_hints(fn, include_extras=True)
    own = inspect.signature(fn)
    wanted = [name for name in INJECTED if name in own.parameters]
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in own.parameters.values()
        if p.name not in INJECTED
    ]
    params.append(
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context[Any, Any])
    )
    model = result_model(spec)
    returns = Annotated[CallToolResult, model]

    async def call(ctx: Context[Any, Any], **arguments: Any) -> CallToolResult:
        try:
            services = await services_from(provider)
        except CommerceError as exc:
            return error_result(spec.name, tool_error(None, exc))
        injected: dict[str, Any] = {"services": services}
        if "gate" in wanted:
            injected["gate"] = WriteGate(book, services, spec.name)
        if "progress" in wanted:
            injected["progress"] = ctx.report_progress
        for name in wanted:
            arguments[name] = injected[name]
        try:
            reply = await run_bounded(services, spec.name, lambda: fn(**arguments))
        except ToolError as exc:
            # Answered, not raised: raised, the SDK would log its text (see error_result).
            return error_result(spec.name, exc)
        if not isinstance(reply.result, model):  # what the SDK no longer re-checks (add_tool)
            raise TypeError(f"{spec.name} returned {type(reply.result).__name__}, not {model}")
        return respond(services, reply.result, reply.text)

    call.__name__ = call.__qualname__ = spec.name
    call.__module__ = fn.__module__
    # Tool descriptions come from docstrings; dedent them so the model reads clean text.
    call.__doc__ = inspect.cleandoc(fn.__doc__ or "")
    call.__signature__ = own.replace(parameters=params, return_annotation=returns)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    return call


def result_model(spec: ToolSpec) -> type[Any]:
    """The result model a tool's ``Reply[...]`` return annotation names (its output schema)."""
    returns = typing.get_type_hints(spec.fn).get("return")
    args = typing.get_args(returns)
    if typing.get_origin(returns) is not Reply or not args:
        raise TypeError(f"tool {spec.name} must be annotated to return Reply[SomeResult]")
    model: type[Any] = args[0]
    return model
