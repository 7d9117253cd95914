"""The command line: call, tools, argument parsing, exit codes."""

from __future__ import annotations

import json
import re

import pytest

from commerce_mcp import cli
from commerce_mcp.cli import main, parse_call_arguments


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


def test_call_prints_the_status_text_without_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["call", "get_connection_status"]) == 0
    out = capsys.readouterr().out
    assert "tiktok: NOT configured (missing TIKTOK_APP_KEY" in out
    assert "COMMERCE_MCP_ALLOW_WRITES=true" in out


def test_call_json_format_prints_the_structured_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(["call", "get_connection_status", "--format", "json", "--arg", "check_shops=false"])
        == 0
    )
    status = json.loads(capsys.readouterr().out)
    assert status["mode"] == "live"
    assert status["channels"][1]["missing"][0] == "AMAZON_SP_API_CLIENT_ID"


def test_call_of_an_unknown_tool_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["call", "no_such_tool"]) == 1
    assert "no_such_tool" in capsys.readouterr().out


def test_call_with_a_bad_argument_type_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["call", "get_connection_status", "--json", '{"check_shops": "often"}']) == 1
    assert "check_shops" in capsys.readouterr().out


def test_bad_json_arguments_exit_2_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["call", "get_connection_status", "--json", "{nope"]) == 2
    assert "--json is not valid JSON" in capsys.readouterr().err


def test_tools_lists_one_line_per_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tools"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(re.match(r"get_connection_status +Show which", line) for line in lines)
    assert all(re.match(r"[a-z_]+ +\S", line) for line in lines)


def test_call_arguments_merge_json_and_pairs_with_json_values() -> None:
    assert parse_call_arguments(
        ["limit=5", "status=AWAITING_SHIPMENT", 'skus=["A"]'], '{"x": 1}'
    ) == {
        "x": 1,
        "limit": 5,
        "status": "AWAITING_SHIPMENT",
        "skus": ["A"],
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_call_arguments(["novalue"], None)
    with pytest.raises(ValueError, match="JSON object"):
        parse_call_arguments([], "[1]")


def test_doctor_names_what_to_set_and_fails_without_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] TikTok Shop: not configured. Next: set TIKTOK_APP_KEY" in out
    assert "[FAIL] Amazon SP-API: not configured. Next: set AMAZON_SP_API_CLIENT_ID" in out


def test_tiktok_authorize_exchanges_the_code_and_lists_shops(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["tiktok", "authorize", "--sandbox", "--code", "sandbox-auth-code"]) == 0
    out = capsys.readouterr().out
    assert "/open/authorize?service_id=" in out
    assert "Sandbox Glow Co" in out
    assert "ROW_sandbox" not in out  # tokens are stored, never printed


def test_tiktok_authorize_names_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tiktok", "authorize", "--code", "x"]) == 2
    assert "TIKTOK_APP_KEY, TIKTOK_APP_SECRET, TIKTOK_SERVICE_ID" in capsys.readouterr().err


def test_sandbox_honours_an_explicit_allow_writes_false_and_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_ALLOW_WRITES", "false")
    assert run(["call", "get_connection_status", "--sandbox", "--arg", "check_shops=false"]) == 0
    out = capsys.readouterr().out
    assert "\nmode: sandbox; writes: disabled (COMMERCE_MCP_ALLOW_WRITES=false);" in out
    assert run(["tools", "--sandbox"]) == 0
    listed = capsys.readouterr().out
    assert "get_inventory" in listed
    assert "create_mcf_order" not in listed, "write tools are not even listed while writes are off"


@pytest.mark.parametrize(
    ("argv", "sandbox"), [([], False), (["serve"], False), (["serve", "--sandbox"], True)]
)
def test_what_mcp_clients_spawn_serves_stdio_without_building_the_parser(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], sandbox: bool
) -> None:
    served: list[bool] = []
    monkeypatch.delenv("COMMERCE_MCP_TRANSPORT", raising=False)
    monkeypatch.setattr(cli, "_parser", lambda: pytest.fail("the full parser was built"))
    monkeypatch.setattr(cli, "_serve", lambda flag: served.append(flag) or 0)
    assert run(argv) == 0
    assert served == [sandbox]


def test_serve_with_http_from_the_environment_is_not_taken_for_a_stdio_spawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from commerce_mcp.hosting import serve

    started: list[bool] = []
    monkeypatch.setenv("COMMERCE_MCP_TRANSPORT", "http")
    monkeypatch.setattr(cli, "_serve", lambda flag: pytest.fail("served stdio"))
    monkeypatch.setattr(serve, "run_http", lambda **kw: started.append(kw["sandbox"]) or 0)
    assert run(["serve"]) == 0
    assert started == [False]
