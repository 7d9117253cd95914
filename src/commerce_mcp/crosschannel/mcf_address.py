"""A TikTok Shop buyer address as an Amazon MCF destination, or the reason it cannot be one.

A parcel goes wherever the label says, so nothing that locates it is ever cut or dropped here: street
lines that do not fit Amazon's fields are re-flowed at word boundaries, and when they still do not fit
(or the country or city is unclear) the mapping is refused with a reason the seller can act on, instead
of sending a shortened address. Only the recipient's name is shortened, to Amazon's 50 characters.
"""

from __future__ import annotations

import textwrap

from commerce_mcp.amazon.models import Address
from commerce_mcp.countries import assigned_code, code_for_name
from commerce_mcp.tiktok.models import RecipientAddress

#: Amazon's Address limits (fulfillmentOutbound Address definition).
NAME_MAX = 50
LINE1_MAX = 180
LINE_MAX = 60  # addressLine2 and addressLine3
CITY_MAX = 50
STATE_MAX = 150

_BY_HAND = "create the MCF order by hand with create_mcf_order, with the address corrected"


class AddressProblem(ValueError):
    """The buyer address cannot be sent to Amazon as it is; the message says why and what to do."""


def to_mcf_address(address: RecipientAddress | None, market: str | None = None) -> Address:
    """Map ``address`` field by field; ``market`` is the shop's region, used when the order names none.

    The country is the order's ``region_code``; failing that, its country name when it is one we know;
    only when the order names no country at all the shop's market (TikTok Shop sells within one). Raises :class:`AddressProblem` (a ``ValueError``) with a
    sentence fit for the seller when the address cannot be sent unchanged.
    """
    if address is None:
        raise AddressProblem("the order has no recipient address")
    name = _clean(address.name) or _clean(
        " ".join(filter(None, (address.first_name, address.last_name)))
    )
    line1, line2, line3 = _street_lines(address)
    city = _clean(address.district("City")) or _clean(address.post_town)
    state = _clean(address.district("State")) or _clean(address.district("Province"))
    _fits("city", city, CITY_MAX)
    _fits("state or region", state, STATE_MAX)
    return Address(
        name=(name or "")[:NAME_MAX].strip(),
        address_line1=line1,
        address_line2=line2,
        address_line3=line3,
        city=city,
        state_or_region=state,
        postal_code=_clean(address.postal_code) or "",
        country_code=_country(address, market),
        phone=_phone(address.phone_number),
    )


def _clean(text: str | None) -> str | None:
    """``text`` with its whitespace (TikTok pads some fields with spaces or a newline) collapsed."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def _street_lines(address: RecipientAddress) -> tuple[str, str | None, str | None]:
    first = (
        _clean(address.address_line1)
        or _clean(address.address_detail)
        or _clean(address.full_address)
    )
    if first is None:
        raise AddressProblem(f"the order has no street address; {_BY_HAND}")
    if len(first) > LINE1_MAX:
        raise AddressProblem(
            f"the first street line is {len(first)} characters and Amazon allows {LINE1_MAX}; {_BY_HAND}"
        )
    rest: list[str] = []
    for line in (address.address_line2, address.address_line3, address.address_line4):
        cleaned = _clean(line)
        # TikTok repeats a line in the next field at times ("Suite 100" three times): once is enough.
        if cleaned and cleaned != first and cleaned not in rest:
            rest.append(cleaned)
    if not rest:
        return first, None, None
    wrapped = textwrap.wrap(
        ", ".join(rest), LINE_MAX, break_long_words=False, break_on_hyphens=False
    )
    if len(wrapped) > 2 or any(len(part) > LINE_MAX for part in wrapped):
        raise AddressProblem(
            f"the address lines after the first do not fit Amazon's two {LINE_MAX}-character lines;"
            f" {_BY_HAND}"
        )
    return first, wrapped[0], wrapped[1] if len(wrapped) > 1 else None


def _fits(what: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise AddressProblem(
            f"the {what} is {len(value)} characters and Amazon allows {limit}; {_BY_HAND}"
        )


def _country(address: RecipientAddress, market: str | None) -> str:
    code = assigned_code(address.region_code or "")
    if code is not None:
        return code
    named = _clean(address.district("Country"))
    if named is not None:
        # A country written out must be one we can read: the shop's market is no substitute for it.
        code = assigned_code(named) or code_for_name(named)
        if code is None:
            raise AddressProblem(
                f"the order names its country only as {named[:40]!r}, not as a code; {_BY_HAND}"
            )
        return code
    code = assigned_code(market or "")
    if code is None:
        raise AddressProblem(f"the order names no country; {_BY_HAND}")
    return code


def _phone(raw: str | None) -> str | None:
    if not raw:
        return None
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    return digits[:20] or None
