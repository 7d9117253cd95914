"""COMMERCE_MCP_SKU_MAP: inline pairs, a JSON file or a CSV file; a broken map is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.config import load_settings
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.errors import InvalidRequest

#: SKUs as sellers write them: no separators of the inline format, no surrounding blanks.
skus = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,15}", fullmatch=True).filter(lambda s: s != "-")


def test_no_map_is_identity() -> None:
    for spec in (None, "", "   "):
        assert SkuMap.parse(spec).to_amazon("TT-1") == "TT-1"
    assert SkuMap.parse(None).to_amazon("") is None


def test_inline_pairs_map_exclude_and_leave_the_rest_alone() -> None:
    mapping = SkuMap.parse(" TT-RED = AMZ-RED ,TT-GIFT=-,TT-BLANK=")
    assert mapping.to_amazon("TT-RED") == "AMZ-RED"
    assert mapping.to_amazon("TT-GIFT") is None
    assert mapping.to_amazon("TT-BLANK") is None
    assert mapping.to_amazon("TT-OTHER") == "TT-OTHER"


@given(pairs=st.dictionaries(skus, skus, max_size=8), other=skus)
def test_inline_map_round_trips(pairs: dict[str, str], other: str) -> None:
    mapping = SkuMap.parse(",".join(f"{k}={v}" for k, v in pairs.items()) or None)
    for tiktok, amazon in pairs.items():
        assert mapping.to_amazon(tiktok) == amazon
    if other not in pairs:
        assert mapping.to_amazon(other) == other


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"TT-1": "AMZ-1", " TT-2 ": " AMZ-2 ", "TT-3": None}))
    mapping = SkuMap.parse(str(path))
    assert mapping.to_amazon("TT-1") == "AMZ-1"
    assert mapping.to_amazon("TT-2") == "AMZ-2"
    assert mapping.to_amazon("TT-3") is None


@pytest.mark.parametrize("header", ["", "tiktok_sku,amazon_sku\n", "TikTok,Amazon\n"])
def test_csv_file_with_or_without_a_header(tmp_path: Path, header: str) -> None:
    path = tmp_path / "map.csv"
    path.write_text(f"{header}TT-1,AMZ-1\nTT-2,-\n\nTT-3\n", encoding="utf-8")
    mapping = SkuMap.parse(str(path))
    assert mapping.to_amazon("TT-1") == "AMZ-1"
    assert mapping.to_amazon("TT-2") is None
    assert mapping.to_amazon("TT-3") is None  # a SKU with no Amazon column is not FBA-fulfilled
    assert mapping.to_amazon("tiktok_sku") == "tiktok_sku"


def test_a_file_path_containing_an_equals_sign_is_still_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a=b.json"
    path.write_text('{"TT-1": "AMZ-1"}')
    assert SkuMap.parse(str(path)).to_amazon("TT-1") == "AMZ-1"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("/nowhere/map.json", "does not exist"),
        ("TT-1", "does not exist"),  # no '=': read as a file name
        ("TT-1=AMZ-1,=AMZ-2", "is not TIKTOK_SKU=AMAZON_SKU"),
        ("TT-1=AMZ-1,TT-2", "is not TIKTOK_SKU=AMAZON_SKU"),
    ],
)
def test_bad_specs_are_configuration_errors(spec: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=fragment) as caught:
        SkuMap.parse(spec)
    assert caught.value.hint


@pytest.mark.parametrize(
    ("name", "content"),
    [("map.json", "[1, 2]"), ("map.json", "{not json"), ("map.csv", b"\xff\xfe\x00bad")],
)
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, content: str | bytes) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InvalidRequest, match="could not be read") as caught:
        SkuMap.parse(str(path))
    assert name in caught.value.message


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_MCP_SKU_MAP", "TT-RED=AMZ-RED")
    settings, _ = load_settings()
    assert SkuMap.parse(settings.commerce_mcp_sku_map).to_amazon("TT-RED") == "AMZ-RED"
