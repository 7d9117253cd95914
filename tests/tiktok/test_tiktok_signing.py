"""The signer reproduces the official worked example and the rules of the spec; the fake agrees."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.sandbox.tiktok_signature import decoded_query, expected_sign
from commerce_mcp.tiktok.signing import sign, string_to_sign

SECRET = "e59af819cc"


def test_official_worked_example() -> None:
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    base = string_to_sign(SECRET, "/authorization/202309/shops", query, None, None)
    assert base == (
        b"e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
    )
    assert sign(SECRET, "/authorization/202309/shops", query, None, None) == (
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    )


def test_keys_sorted_ordinally_not_by_locale() -> None:
    query = {"ab": "4", "a_b": "3", "aB": "2", "_x": "1", "Z": "0", "A": "9", "a1": "5"}
    base = string_to_sign("s", "/p", query, None, None)
    assert base == b"s/pA9Z0_x1a15aB2a_b3ab4s"


def test_page_before_page_size_before_page_token() -> None:
    base = string_to_sign("s", "/p", {"page_token": "t", "page_size": "2", "page": "1"}, None, None)
    assert base == b"s/ppage1page_size2page_tokents"


def test_sign_and_access_token_are_excluded_but_empty_values_are_not() -> None:
    with_extras = {"app_key": "k", "sign": "zzz", "access_token": "tok", "empty": ""}
    plain = {"app_key": "k", "empty": ""}
    assert sign("s", "/p", with_extras, None, None) == sign("s", "/p", plain, None, None)
    assert string_to_sign("s", "/p", plain, None, None) == b"s/papp_keykemptys"


def test_body_is_appended_raw_for_json() -> None:
    body = b'{"order_status":"AWAITING_SHIPMENT"}'
    base = string_to_sign("s", "/o", {"k": "v"}, body, "application/json")
    assert base == b"s/okv" + body + b"s"


def test_multipart_body_is_left_out_even_with_boundary_parameter() -> None:
    body = b"--xyz\r\nContent-Disposition: form-data\r\n\r\ndata\r\n--xyz--"
    for content_type in ("multipart/form-data; boundary=xyz", "Multipart/Form-Data"):
        assert sign("s", "/f", {}, body, content_type) == sign("s", "/f", {}, None, None)


def test_unicode_body_signs_its_utf8_bytes() -> None:
    body = '{"note":"café ☕ 日本"}'.encode()
    expected = hmac.new(b"s", b"s/n" + body + b"s", hashlib.sha256).hexdigest()
    assert sign("s", "/n", {}, body, "application/json") == expected


def test_empty_body_equals_no_body_but_empty_object_does_not() -> None:
    assert sign("s", "/p", {}, b"", "application/json") == sign("s", "/p", {}, None, None)
    assert sign("s", "/p", {}, b"{}", "application/json") != sign("s", "/p", {}, None, None)


def test_signature_is_lowercase_hex() -> None:
    value = sign("s", "/p", {"a": "b"}, None, None)
    assert len(value) == 64
    assert value == value.lower()
    int(value, 16)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(
    path=st.from_regex(r"/[a-z_]{1,10}/20[0-9]{4}/[a-z_/]{0,12}", fullmatch=True),
    query=st.dictionaries(
        _text.filter(lambda k: k not in ("sign", "access_token")), _text, max_size=6
    ),
    body=st.one_of(st.none(), st.binary(max_size=64), _text.map(str.encode)),
    content_type=st.sampled_from(["application/json", "multipart/form-data; boundary=b", None]),
)
def test_client_signer_and_fake_verifier_agree(
    path: str, query: dict[str, str], body: bytes | None, content_type: str | None
) -> None:
    # Round-trip the query through real URL encoding, as it would travel.
    received = decoded_query(urlencode(query))
    assert received == query
    assert sign("secret", path, query, body, content_type) == expected_sign(
        "secret", path, received, body or b"", content_type or ""
    )
