"""Amazon carrier codes resolve to the shop's TikTok providers; COMMERCE_MCP_CARRIER_MAP overrides."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.config import load_settings
from commerce_mcp.crosschannel.carriers import BUILTIN_ALIASES, CarrierMap
from commerce_mcp.errors import InvalidRequest


@dataclass(frozen=True)
class P:
    id: str
    name: str


SHOP = [
    P("1", "USPS"),
    P("2", "UPS"),
    P("3", "FedEx"),
    P("4", "DHL eCommerce"),
    P("5", "Amazon Shipping"),
    P("6", "OnTrac"),
    P("7", "Regional Express"),
]


@pytest.mark.parametrize(
    ("code", "provider"),
    [
        ("UPS", "UPS"),
        ("ups", "UPS"),
        ("USPS", "USPS"),
        ("FEDEX", "FedEx"),
        ("AMZN_US", "Amazon Shipping"),
        ("DHL", "DHL eCommerce"),
        ("LASERSHIP", "OnTrac"),
    ],
)
def test_builtin_aliases(code: str, provider: str) -> None:
    assert CarrierMap().resolve(code, SHOP).name == provider


def test_a_provider_with_a_suffix_matches_its_carrier() -> None:
    assert CarrierMap().resolve("UPS", [P("9", "UPS Ground")]).id == "9"


def test_an_override_wins_over_the_builtin_alias() -> None:
    carriers = CarrierMap.parse("AMZN_US=Regional Express, upsmi = usps")
    assert carriers.overrides == {"AMZN_US": "Regional Express", "UPSMI": "usps"}
    assert carriers.resolve("AMZN_US", SHOP).name == "Regional Express"
    assert carriers.resolve("UPSMI", SHOP).name == "USPS"
    assert carriers.resolve("UPS", SHOP).name == "UPS"  # untouched codes keep their aliases


def test_an_override_naming_a_missing_provider_falls_back_to_the_aliases() -> None:
    assert CarrierMap.parse("UPS=Nobody").resolve("UPS", SHOP).name == "UPS"


def test_an_unknown_carrier_lists_the_shop_providers_and_the_setting() -> None:
    with pytest.raises(InvalidRequest) as caught:
        CarrierMap().resolve("ZZ_POST", SHOP)
    assert "ZZ_POST" in caught.value.message
    assert caught.value.hint and "COMMERCE_MCP_CARRIER_MAP=ZZ_POST=" in caught.value.hint
    assert "Regional Express" in caught.value.hint


@pytest.mark.parametrize("spec", ["AMZN_US", "=UPS", "AMZN_US=", "UPS=UPS,,"])
def test_malformed_overrides_are_configuration_errors(spec: str) -> None:
    with pytest.raises(InvalidRequest, match="is not CODE=Provider name"):
        CarrierMap.parse(spec)


@given(code=st.sampled_from(sorted(BUILTIN_ALIASES)), pick=st.sampled_from(SHOP))
def test_an_override_always_resolves_to_the_named_provider(code: str, pick: P) -> None:
    assert CarrierMap.parse(f"{code}={pick.name}").resolve(code, SHOP) == pick


def test_the_override_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_MCP_CARRIER_MAP", "AMZN_US=Regional Express")
    settings, _ = load_settings()
    carriers = CarrierMap.parse(settings.commerce_mcp_carrier_map)
    assert carriers.resolve("AMZN_US", SHOP).name == "Regional Express"
