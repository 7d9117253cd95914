"""Read the crawled TikTok Shop API reference (``../shared/reference/tiktok-shop/endpoints``).

The fake TikTok Shop is checked against what these pages document, never against our client: the
response fields each endpoint may carry and their JSON types, the ``page_size`` range, and the API
packages (scopes) that grant access. Tests skip with a clear reason when the folder is absent.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from tests.support.reference import REFERENCE as SHARED_REFERENCE
from tests.support.reference import require

REFERENCE = SHARED_REFERENCE / "tiktok-shop"
ENDPOINT_DUMPS = REFERENCE / "endpoints"

#: Documented API package name -> the scope key the fake grants for it (README "Scope keys").
PACKAGE_SCOPES = {
    "Shop Authorized Information": "seller.authorization.info",
    "Global Shop Information": "seller.authorization.info",
    "Product Basic": "seller.product.basic",
    "Product Modify": "seller.product.write",
    "Order Information": "seller.order.info",
    "Return & Refund Basic": "seller.return_refund.basic",
    "Fulfillment Basic": "seller.fulfillment.basic",
    "Logistics Basic": "seller.logistics",
    "TikTok Shop Analytics": "data.shop_analytics.public.read",
}

_HEAD = re.compile(r"^# .+?  (GET|POST|PUT|DELETE) (\S+)")
_PARAM = re.compile(r"^  - (\^*)(\w+) \(([^)]*)\)(.*)$")
_RANGE = re.compile(r"Valid range: \[(\d+)-(\d+)\]")
_MAXIMUM = re.compile(r"(?:Max value: |maximum page_size value is )(\d+)")
_PACKAGE = re.compile(r'\{"package": "([^"]+)", "package_type": "Public"\}')


@dataclass
class DocumentedEndpoint:
    """What one crawled reference page says about an endpoint."""

    method: str
    path: str
    #: "products[].skus[].id" -> documented type ("string", "int", "[]object", ...), under ``data``.
    response: dict[str, str] = field(default_factory=dict)
    #: The documented page_size range, when the endpoint pages.
    page_size: tuple[int, int] | None = None
    #: Scope keys of the public API packages that grant the endpoint.
    scopes: set[str] = field(default_factory=set)


def require_reference() -> None:
    """Skip the calling test when the shared reference folder is not next to the project."""
    require(ENDPOINT_DUMPS)


@functools.cache
def documented_endpoints() -> dict[tuple[str, str], DocumentedEndpoint]:
    """Every endpoint in the dumps, keyed by (method, path template)."""
    require_reference()
    found: dict[tuple[str, str], DocumentedEndpoint] = {}
    for dump in sorted(ENDPOINT_DUMPS.glob("*.txt")):
        current: DocumentedEndpoint | None = None
        section = ""
        stack: list[str] = []
        for line in dump.read_text(encoding="utf-8").splitlines():
            if head := _HEAD.match(line):
                current = DocumentedEndpoint(head.group(1), head.group(2))
                found[(current.method, current.path)] = current
                section = ""
                continue
            if current is None:
                continue
            if line.startswith("scopes:"):
                current.scopes = {
                    PACKAGE_SCOPES[name]
                    for name in _PACKAGE.findall(line)
                    if name in PACKAGE_SCOPES
                }
            elif line.endswith("params:"):
                section, stack = line.removesuffix(" params:"), []
            elif param := _PARAM.match(line):
                _read_param(current, section, stack, param)
    return found


def _read_param(
    endpoint: DocumentedEndpoint, section: str, stack: list[str], param: re.Match[str]
) -> None:
    depth, name, kind, text = len(param.group(1)), param.group(2), param.group(3), param.group(4)
    if section == "query" and name == "page_size":
        if bounds := _RANGE.search(text):
            endpoint.page_size = (int(bounds.group(1)), int(bounds.group(2)))
        elif maximum := _MAXIMUM.search(text):
            endpoint.page_size = (1, int(maximum.group(1)))
    if section != "response":
        return
    del stack[depth:]
    stack.append(name + ("[]" if kind.startswith("[]") else ""))
    if stack[0] == "data" and len(stack) > 1:
        endpoint.response[".".join(stack[1:])] = kind.split(",")[0].strip()


def field_paths(value: object, prefix: str = "") -> dict[str, list[object]]:
    """Every field path in a JSON value, in the docs' notation, with all the values seen there."""
    paths: dict[str, list[object]] = {}

    def walk(node: object, at: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                here = f"{at}.{key}" if at else key
                if isinstance(child, list):
                    paths.setdefault(here + "[]", []).extend(child)
                    for item in child:
                        if isinstance(item, dict):
                            walk(item, here + "[]")
                else:
                    paths.setdefault(here, []).append(child)
                    walk(child, here)

    walk(value, prefix)
    return paths


def matches_type(value: object, documented: str) -> bool:
    """Whether a JSON value has the documented scalar type (other types are not checked)."""
    if value is None:
        return True
    if documented == "string":
        return isinstance(value, str)
    if documented in ("int", "int64", "int32", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if documented in ("bool", "boolean"):
        return isinstance(value, bool)
    if documented in ("float", "number", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True
