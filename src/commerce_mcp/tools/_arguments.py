"""How tool arguments are checked, and how a refusal reads.

The SDK builds each tool's arguments model from the function signature and validates every call against
it. Left alone, that model ignores unknown keys (a misspelled ``stauts`` silently becomes "no filter") and a
refusal is pydantic's full dump: every failing item, each with its input value and a documentation link
(a 1,000-item list produced a 213,000-character error). :class:`CommerceServer` changes both in one place,
for every tool registered on it:

* the arguments model forbids unknown keys, in the advertised schema (``additionalProperties: false``)
  and at call time;
* a refusal names the argument, says what was wrong and what is allowed, quotes at most a short prefix of
  the bad value, suggests the intended name for an unknown one, and ends with what to do next;
* every error text a tool call returns is bounded (``_common.MAX_ERROR_CHARS``);
* the input and output schemas it publishes are compacted (:mod:`commerce_mcp.tools.schema_compact`):
  a model reads every tool's schema in every session.

It also carries the registry's per-request visibility check (``tool_visible``): a tool it hides is
neither listed nor callable, exactly as if it were not registered. And it lists tools it has not built
yet (:meth:`CommerceServer.defer_tool`): a tool published from the manifest is registered, argument
model and all, on its first call, so every call is validated exactly as if it had been built at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, Icon, InputRequiredResult, ToolAnnotations
from mcp.types import Tool as MCPTool
from pydantic import ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from commerce_mcp.services import Services
from commerce_mcp.tools._common import cap_error_text
from commerce_mcp.tools.inputs import unsafe_character
from commerce_mcp.tools.schema_compact import compact_schema
from commerce_mcp.tools.text import quoted

log = logging.getLogger(__name__)
#: The command that rewrites the tool manifest from the code (``tools.manifest``).
REGENERATE = "python -m commerce_mcp.tools.manifest"

#: Problems listed in one refusal; the rest are counted. The first few are enough to fix the call, and a
#: list of 1,000 bad items must not become 1,000 lines.
MAX_PROBLEMS = 3
#: Characters of a caller's bad value quoted back (enough to recognise it, never the whole payload).
VALUE_PREVIEW_CHARS = 40
#: Characters of one problem's explanation (pydantic's message plus what we add).
PROBLEM_CHARS = 220
#: Argument names listed when an unknown one resembles none of them.
MAX_LISTED_NAMES = 12


def forbid_unknown_arguments(tool: Tool) -> None:
    """Make ``tool`` refuse arguments its signature does not declare, in its schema and at call time.

    The SDK's arguments model is a generated pydantic class that ignores extra keys. A subclass with
    ``extra="forbid"`` validates identically otherwise; swapping it in (and marking the advertised schema
    to match) is the one hook the SDK leaves open without patching it.
    """
    model = tool.fn_metadata.arg_model
    if model.model_config.get("extra") == "forbid":
        return
    strict: type[ArgModelBase] = type(
        model.__name__,
        (model,),
        {
            "__module__": model.__module__,
            "__doc__": model.__doc__,
            # The title the SDK's schema already carried, so only additionalProperties changes.
            "model_config": ConfigDict(extra="forbid", title=model.__name__),
        },
    )
    tool.fn_metadata.arg_model = strict
    # The strict model's schema is the SDK's plus this one key; setting it directly skips a second schema
    # generation per tool at start-up (about half of this function's cost).
    tool.parameters = {**tool.parameters, "additionalProperties": False}


def compact_schemas(tool: Tool) -> None:
    """Publish ``tool``'s input and output schemas in their compact form (see ``schema_compact``)."""
    tool.parameters = compact_schema(tool.parameters, arguments=True)
    output = tool.fn_metadata.output_schema
    if output is not None:
        tool.fn_metadata.output_schema = compact_schema(output)
        # Tool.output_schema is a cached view of the metadata's; drop a copy read before this.
        tool.__dict__.pop("output_schema", None)


def explain_invalid_arguments(
    tool_name: str, error: ValidationError, schema: Mapping[str, Any]
) -> str:
    """A short refusal: which argument, what was wrong, what is allowed, then what to do next.

    ``schema`` is the tool's input schema, used to name the allowed arguments and suggest the intended
    one for a misspelling. The result never exceeds ``_common.MAX_ERROR_CHARS``.
    """
    details = error.errors(include_url=False)
    problems = [_problem(detail, schema) for detail in details[:MAX_PROBLEMS]]
    if len(details) > MAX_PROBLEMS:
        more = len(details) - MAX_PROBLEMS
        problems.append(f"and {more} more problem{'s' if more != 1 else ''} like these")
    fix = "Fix it" if len(details) == 1 else "Fix them"
    listed = "; ".join(problems)
    end = "" if listed.endswith(("?", ".")) else "."
    text = (
        f"Error executing tool {tool_name}: invalid arguments: {listed}{end} {fix} and"
        f" call {tool_name} again; its input schema (tools/list) gives every argument and its limits."
    )
    return cap_error_text(text)


def _always(name: str) -> bool:
    return True


class CommerceServer(MCPServer[Services]):
    """The MCP server with this project's argument rules applied to every tool (see module docstring)."""

    #: Whether the request being handled may see the tool with this name (set by the registry).
    tool_visible: Callable[[str], bool] = staticmethod(_always)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Tools listed before they are built: name -> (what tools/list says, what registers it).
        self._deferred: dict[str, tuple[MCPTool, Callable[[], None]]] = {}

    def defer_tool(self, listed: MCPTool, build: Callable[[], None]) -> None:
        """List ``listed`` now; ``build`` registers the tool (``add_tool``) before its first call."""
        self._deferred[listed.name] = (listed, build)

    async def list_tools(self) -> list[MCPTool]:
        """The tools this request may see: deferred ones as published, then those registered directly."""
        deferred = [listed for listed, _ in self._deferred.values()]
        registered = [
            tool for tool in await super().list_tools() if tool.name not in self._deferred
        ]
        return [tool for tool in (*deferred, *registered) if self.tool_visible(tool.name)]

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Register ``fn`` as the SDK does, then make its arguments refuse unknown keys."""
        super().add_tool(
            fn,
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=icons,
            meta=meta,
            structured_output=structured_output,
        )
        tool = self._registered(name or fn.__name__)
        if tool is not None:
            forbid_unknown_arguments(tool)
            compact_schemas(tool)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        context: Context[Services, Any] | None = None,
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool; a refusal or failure comes back short and actionable, never over the cap."""
        if not self.tool_visible(name):
            # Worded as the SDK words a tool it does not have: a hidden tool does not exist here.
            raise ToolError(cap_error_text(f"Unknown tool: {name}"))
        try:
            await self._build(name)
        except Exception as exc:  # a tool that cannot be built is a bug: no internals in the reply
            raise UnexpectedToolError(f"Error executing tool {name}") from exc
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            raise UnexpectedToolError(cap_error_text(str(exc))) from exc.__cause__
        except ToolError as exc:
            cause = exc.__cause__
            tool = self._registered(name)
            # The SDK raises ToolError from a ValidationError only when the arguments fail the input
            # model; a tool body's own failures reach here as ToolError from ToolError.
            if isinstance(cause, ValidationError) and tool is not None:
                raise ToolError(explain_invalid_arguments(name, cause, tool.parameters)) from cause
            raise ToolError(cap_error_text(str(exc))) from cause

    def trust_structured_content(self, name: str) -> None:
        """Publish ``name``'s output schema but skip the SDK's re-validation of each result against
        its output model: for tools whose structured content is dumped from an instance of it."""
        tool = self._registered(name)
        if tool is not None:
            # The SDK's documented form: a schema without a model is advertised, not re-checked.
            tool.fn_metadata.output_model = None

    async def _build(self, name: str) -> None:
        """Register the deferred tool ``name`` if it is not yet; warn if it differs from its listing."""
        deferred = self._deferred.get(name)
        if deferred is None or self._registered(name) is not None:
            return
        listed, build = deferred
        try:
            build()
        except BaseException:
            # Half-built (registered, but without its argument rules): the next call must not find it.
            if self._registered(name) is not None:
                self.remove_tool(name)
            raise
        built = next((t for t in await super().list_tools() if t.name == name), None)
        if built != listed:
            # Who may call it was checked against the code while building (``checked_spec``); what
            # differs is text or schema: clients read the listing, arguments are checked by the code.
            log.warning("tool %s is listed from a stale manifest; run `%s`", name, REGENERATE)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema the SDK checks ``Mcp-Param`` headers against, for a deferred tool too."""
        deferred = self._deferred.get(name)
        if deferred is not None and self._registered(name) is None:
            return deferred[0].input_schema
        return super()._tool_input_schema(name)

    def _registered(self, name: str) -> Tool | None:
        # The SDK exposes registered tools only as wire copies (list_tools); the Tool object that holds
        # the arguments model lives in its tool manager.
        return self._tool_manager.get_tool(name)


# Rendering one problem -----------------------------------------------------------------------------


def _problem(detail: ErrorDetails, schema: Mapping[str, Any]) -> str:
    loc = detail["loc"]
    where = _location(loc)
    kind = detail["type"]
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        parent = _location(loc[:-1])
        shown = quoted(key, VALUE_PREVIEW_CHARS).strip('"')
        text = (
            f"unknown argument '{shown}'"
            if not parent
            else f"unknown field '{shown}' in '{parent}'"
        )
        allowed = _property_names(schema, loc[:-1])
        import difflib  # only a refusal needs it; start-up does not

        guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if guess:
            text += f"; did you mean '{guess[0]}'?"
        elif allowed:
            names = sorted(allowed)
            listed = ", ".join(names[:MAX_LISTED_NAMES]) + (
                ", …" if len(names) > MAX_LISTED_NAMES else ""
            )
            text += f" (allowed: {listed})"
        return _bounded(text)
    if kind == "missing":
        what = "argument" if len(loc) <= 1 else "field"
        return _bounded(f"missing required {what} '{where}'")
    # pydantic's message already says what is allowed ("String should have at most 40 characters",
    # "Input should be 'Standard', 'Expedited' or 'Priority'"); it never includes the input itself.
    text = f"'{where}': {detail['msg']}" if where else str(detail["msg"])
    text += f" (got {_preview(detail.get('input'))})"
    if kind == "string_pattern_mismatch":
        # A shared argument (list_tiktok_orders' dates) is a bare $ref to its definition.
        description = _resolve(schema, _schema_at(schema, loc)).get("description")
        if isinstance(description, str):
            text += f"; expected {description}"
    return _bounded(text)


def _bounded(text: str) -> str:
    return text if len(text) <= PROBLEM_CHARS else text[: PROBLEM_CHARS - 1] + "…"


def _location(loc: Sequence[int | str]) -> str:
    """``('items', 3, 'quantity')`` -> ``items[3].quantity``; names are bounded and cleaned."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = quoted(part, VALUE_PREVIEW_CHARS).strip('"')
            out += f".{name}" if out else name
    return out


def _preview(value: Any) -> str:
    """A bounded, cleaned description of a caller's value: never more than a short prefix of it."""
    if isinstance(value, str):
        notes = [quoted(value, VALUE_PREVIEW_CHARS)]
        if len(value) > VALUE_PREVIEW_CHARS:
            notes.append(f"{len(value)} characters")
        # The quote drops invisible characters, so name the first one: it is often the whole problem.
        hidden = unsafe_character(value)
        if hidden:
            notes.append(f"with the hidden character {hidden}")
        return ", ".join(notes)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int):
        # str() of a huge int is slow and, past 4,300 digits, refused by Python itself.
        return str(value) if value.bit_length() <= 64 else "a number too large to use"
    if isinstance(value, float):
        return repr(value)[:VALUE_PREVIEW_CHARS]
    if isinstance(value, Sequence):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} key{'s' if len(value) != 1 else ''}"
    return f"a value of type {type(value).__name__}"


def _schema_at(schema: Mapping[str, Any], loc: Sequence[int | str]) -> Mapping[str, Any]:
    """The input-schema node for ``loc`` (following ``$ref``, ``anyOf`` and array items), or ``{}``."""
    node: Mapping[str, Any] = schema
    for part in loc:
        found: Mapping[str, Any] | None = None
        for option in _options(schema, node):
            if isinstance(part, int) and isinstance(option.get("items"), Mapping):
                found = option["items"]
            elif isinstance(part, str) and part in option.get("properties", {}):
                found = option["properties"][part]
            if found is not None:
                break
        if found is None:
            return {}
        node = found
    return node


def _property_names(schema: Mapping[str, Any], loc: Sequence[int | str]) -> list[str]:
    """The keys the object at ``loc`` accepts."""
    names: list[str] = []
    for option in _options(schema, _schema_at(schema, loc)):
        names.extend(option.get("properties", {}))
    return names


def _options(schema: Mapping[str, Any], node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``node`` with its ``$ref`` resolved, plus each ``anyOf`` alternative (resolved too)."""
    resolved = _resolve(schema, node)
    return [resolved, *(_resolve(schema, alt) for alt in resolved.get("anyOf", ()))]


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return target
    return node
