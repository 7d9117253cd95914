"""A TikTok recipient becomes an Amazon MCF destination address."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.crosschannel.fulfill import to_mcf_address
from commerce_mcp.tiktok.models import RecipientAddress


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


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@given(name=text, line1=text, line2=text, postal=text)
def test_long_fields_are_cut_to_amazons_limits_or_refused_never_passed_through(
    name: str, line1: str, line2: str, postal: str
) -> None:
    try:
        address = to_mcf_address(
            recipient(name=name, address_line1=line1, address_line2=line2, postal_code=postal)
        )
    except ValueError:
        return  # a field Amazon would refuse (empty name, blank postcode): a clear error upstream
    assert address.name == name.strip()[:50]
    assert len(address.address_line1) <= 180
    assert address.address_line2 is None or len(address.address_line2) <= 60
