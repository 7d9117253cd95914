"""A TikTok recipient becomes an Amazon MCF destination address, unshortened, or a clear refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.crosschannel.mcf_address import (
    LINE1_MAX,
    LINE_MAX,
    AddressProblem,
    to_mcf_address,
)
from commerce_mcp.tiktok.models import RecipientAddress
from tests.support.reference import REFERENCE, require


def recipient(**overrides: Any) -> RecipientAddress:
    base: dict[str, Any] = {
        "name": "Ava Kim",
        "phone_number": "(+1)512-***-1234",
        "address_line1": "12 Oak St",
        "address_line2": "Apt 4B",
        "postal_code": "78701",
        "region_code": "us",
        "district_info": [
            {"address_level_name": "Country", "address_name": "United States"},
            {"address_level_name": "State", "address_name": "Texas"},
            {"address_level_name": "City", "address_name": "Austin"},
        ],
    }
    return RecipientAddress.model_validate({**base, **overrides})


def test_a_us_recipient_maps_field_by_field() -> None:
    address = to_mcf_address(recipient())
    assert address.name == "Ava Kim"
    assert address.address_line1 == "12 Oak St"
    assert address.address_line2 == "Apt 4B"
    assert (address.city, address.state_or_region) == ("Austin", "Texas")
    assert (address.postal_code, address.country_code) == ("78701", "US")
    assert address.phone == "+15121234"  # masked digits dropped, the rest kept


def test_a_town_given_only_as_post_town_is_the_city() -> None:
    districts = [
        {"address_level_name": "Country", "address_name": "United States"},
        {"address_level_name": "State", "address_name": "Texas"},
    ]
    address = to_mcf_address(recipient(district_info=districts, post_town="Round Rock"))
    assert address.city == "Round Rock"


def test_name_and_first_line_fall_back_to_the_other_fields() -> None:
    address = to_mcf_address(
        recipient(
            name="", first_name="Ava", last_name="Kim", address_line1="", address_detail="Unit 9"
        )
    )
    assert address.name == "Ava Kim"
    assert address.address_line1 == "Unit 9"
    no_detail = to_mcf_address(recipient(address_line1=None, full_address="1 Elm Dr, Austin"))
    assert no_detail.address_line1 == "1 Elm Dr, Austin"


def test_an_empty_second_line_and_phone_are_left_out() -> None:
    address = to_mcf_address(recipient(address_line2="", phone_number="***"))
    assert address.address_line2 is None
    assert address.phone is None


def test_an_order_without_a_recipient_is_refused() -> None:
    with pytest.raises(ValueError, match="no recipient address"):
        to_mcf_address(None)


def test_third_and_fourth_lines_reach_amazon_instead_of_being_dropped() -> None:
    address = to_mcf_address(
        recipient(
            address_line2="Apt 4B", address_line3="Building C", address_line4="Gate code 1234"
        )
    )
    assert address.address_line2 == "Apt 4B, Building C, Gate code 1234"
    long_parts = recipient(address_line2="x" * 25, address_line3="y" * 25, address_line4="z" * 25)
    flowed = to_mcf_address(long_parts)
    assert (flowed.address_line2, flowed.address_line3) == (f"{'x' * 25}, {'y' * 25},", "z" * 25)


def test_blank_and_repeated_lines_are_sent_once() -> None:
    address = to_mcf_address(
        recipient(address_line2="Suite 100\n", address_line3="Suite 100", address_line4=" ")
    )
    assert (address.address_line2, address.address_line3) == ("Suite 100", None)


def test_the_country_comes_from_the_code_a_known_name_or_else_the_shops_market() -> None:
    assert to_mcf_address(recipient(region_code="UK")).country_code == "GB"
    named_only = recipient(region_code=None)  # district_info says "United States"
    assert to_mcf_address(named_only).country_code == "US"
    state_and_city = [
        {"address_level_name": "State", "address_name": "Texas"},
        {"address_level_name": "City", "address_name": "Austin"},
    ]
    unnamed = recipient(region_code=None, district_info=state_and_city)
    assert to_mcf_address(unnamed, market="US").country_code == "US"
    with pytest.raises(AddressProblem, match="names no country"):
        to_mcf_address(unnamed)
    # A name we cannot read is refused, even though the shop's market would give a code.
    canada = recipient(
        region_code=None,
        district_info=[{"address_level_name": "Country", "address_name": "Kanada"}],
    )
    with pytest.raises(AddressProblem, match=r"country only as 'Kanada'.*create_mcf_order"):
        to_mcf_address(canada, market="US")


def test_a_city_longer_than_amazon_allows_is_refused_not_cut() -> None:
    districts = [
        {"address_level_name": "State", "address_name": "Texas"},
        {"address_level_name": "City", "address_name": "C" * 51},
    ]
    with pytest.raises(AddressProblem, match="city is 51 characters and Amazon allows 50"):
        to_mcf_address(recipient(district_info=districts))


def test_the_official_sample_ships_to_its_region_code_and_needs_a_state() -> None:
    # The sample's district_info says "United Kingdom" while region_code says US, and it has no state:
    # the code wins, and a US address without a state is refused before Amazon sees it.
    path = require(REFERENCE / "tiktok-shop/samples/order_detail.response.json")
    raw = json.loads(path.read_text())["data"]["orders"][0]["recipient_address"]
    with pytest.raises(ValueError, match="stateOrRegion required for US addresses"):
        to_mcf_address(RecipientAddress.model_validate(raw))


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


def _cleaned(value: str) -> str:
    return " ".join(value.split())


@given(name=text, line1=text, line2=text, line3=text, line4=text)
def test_street_lines_are_re_flowed_whole_or_refused_never_cut(
    name: str, line1: str, line2: str, line3: str, line4: str
) -> None:
    raw = recipient(
        name=name,
        address_line1=line1,
        address_line2=line2,
        address_line3=line3,
        address_line4=line4,
    )
    try:
        address = to_mcf_address(raw)
    except ValueError:
        return  # refused with a reason (too long to fit, no name, ...): nothing is sent
    assert address.name == _cleaned(name)[:50].strip()
    assert address.address_line1 == _cleaned(line1) and len(address.address_line1) <= LINE1_MAX
    rest: list[str] = []
    for part in map(_cleaned, (line2, line3, line4)):
        if part and part != address.address_line1 and part not in rest:
            rest.append(part)
    sent = [line for line in (address.address_line2, address.address_line3) if line]
    assert " ".join(sent) == ", ".join(rest)
    assert all(len(line) <= LINE_MAX for line in sent)
