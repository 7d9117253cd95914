"""The benchmark suite's arithmetic and report: bounds, percentiles, figures, the Markdown table.

Running the benchmarks themselves is CI's ``python -m benchmarks --smoke``; these pin the parts whose
mistakes would silently misreport a result.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

# `benchmarks/` is a top-level package next to `src/`, not installed; import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._http_load import KeepAliveCaller
from benchmarks._report import render
from benchmarks._stats import figure, percentile, result
from benchmarks.throughput import rate_bound, within

from tests.support.http import jsonrpc_answer_in


def test_rate_bound_is_zero_within_the_burst() -> None:
    assert rate_bound(2, rate=2.0, burst=2.0) == 0.0
    assert rate_bound(0, rate=2.0, burst=2.0) == 0.0


def test_rate_bound_spends_the_burst_then_the_rate() -> None:
    # 10 inventory calls at 2/s with a burst of 2: 8 calls wait for tokens, 0.5 s each.
    assert rate_bound(10, rate=2.0, burst=2.0) == pytest.approx(4.0)


def test_rate_bound_from_a_drained_bucket_pays_for_every_request() -> None:
    # Just drained by another process: no burst to spend, 10 calls at 2/s take 5 s.
    assert rate_bound(10, rate=2.0, burst=2.0, start=0.0) == pytest.approx(5.0)


def test_within_allows_five_percent_over_the_bound() -> None:
    assert within(4.2, 4.0)
    assert not within(4.21, 4.0)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_percentiles_are_ordered_and_within_the_data(values: list[float]) -> None:
    p10, p50, p90 = (percentile(values, f) for f in (0.1, 0.5, 0.9))
    assert min(values) <= p10 <= p50 <= p90 <= max(values)


def test_figure_reports_median_and_chosen_spread() -> None:
    row = figure("x", [5.0, 1.0, 3.0], "ms", goal="< 4 ms", passed=True, spread="min–max")
    assert (row["median"], row["low"], row["high"], row["runs"]) == (3.0, 1.0, 5.0, 3)


def test_report_shows_machine_goal_verdict_and_skips() -> None:
    rows = [figure("added at p50", [2.5], "ms", goal="< 2 ms", passed=False)]
    item = result("overhead", "Per-call overhead", rows, ["a note"])
    item["load"] = "1.50 / 1.20 / 1.00 at start, 2.00 / 1.30 / 1.00 at end"
    text = render(
        [item],
        {"tokens": "commerce_mcp.tools.tiktok has not landed yet"},
        {"CPU": "Test CPU (2 cores / 4 threads)", "Python": "CPython 3.11"},
        "python -m benchmarks",
    )
    assert "- **CPU:** Test CPU (2 cores / 4 threads)" in text
    assert "| added at p50 | 2.50 ms | 2.50–2.50 (p10–p90) | 1 | < 2 ms | **FAIL** |" in text
    assert "- a note" in text
    assert (
        "Machine load (1/5/15 min): 1.50 / 1.20 / 1.00 at start, 2.00 / 1.30 / 1.00 at end." in text
    )
    assert "`tokens`: commerce_mcp.tools.tiktok has not landed yet" in text


def _sse(message: dict[str, object]) -> bytes:
    return b"event: message\r\ndata: " + json.dumps(message).encode() + b"\r\n\r\n"


def _chunked(body: bytes) -> bytes:
    # Two chunks, so a reader that stops after the first one fails.
    half = len(body) // 2
    parts = [body[:half], body[half:]]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


async def _serve_answers(answers: list[bytes]) -> tuple[str, list[int], asyncio.Server]:
    """A loopback HTTP server answering each request with the next canned response; it records
    how many requests each connection carried."""
    per_connection: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        index = len(per_connection) - 1
        while answers:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            per_connection[index] += 1
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", per_connection, server


def _response(body: bytes, *, chunked: bool, content_type: bytes, close: bool = False) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\n"
    if close:
        head += b"connection: close\r\n"
    if chunked:
        return head + b"transfer-encoding: chunked\r\n\r\n" + _chunked(body)
    return head + f"content-length: {len(body)}\r\n\r\n".encode() + body


def test_load_generator_reads_both_framings_on_one_keep_alive_connection() -> None:
    ok = {"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": False}}
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}}

    async def run() -> list[int]:
        url, per_connection, server = await _serve_answers(
            [
                _response(
                    _sse(progress) + _sse(ok), chunked=True, content_type=b"text/event-stream"
                ),
                _response(json.dumps(ok).encode(), chunked=False, content_type=b"application/json"),
            ]
        )
        caller = KeepAliveCaller("cmcp_key", jsonrpc_answer_in)
        async with server:
            await caller.call(url, "list_mcf_orders", {})
            await caller.call(url, "list_mcf_orders", {})
            await caller.aclose()
        return per_connection

    assert asyncio.run(run()) == [2]


@pytest.mark.parametrize(
    "answer",
    [
        {"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": True}},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad"}},
    ],
)
def test_load_generator_fails_a_call_the_server_did_not_answer_with_success(
    answer: dict[str, object],
) -> None:
    async def run() -> None:
        url, _, server = await _serve_answers(
            [_response(_sse(answer), chunked=True, content_type=b"text/event-stream")]
        )
        async with server:
            await KeepAliveCaller("cmcp_key", jsonrpc_answer_in).call(url, "list_mcf_orders", {})

    with pytest.raises(RuntimeError, match="failed"):
        asyncio.run(run())


def test_load_generator_opens_a_new_connection_after_connection_close() -> None:
    ok = {"jsonrpc": "2.0", "id": 1, "result": {"content": []}}
    body = json.dumps(ok).encode()

    async def run() -> list[int]:
        url, per_connection, server = await _serve_answers(
            [
                _response(body, chunked=False, content_type=b"application/json", close=True),
                _response(body, chunked=False, content_type=b"application/json"),
            ]
        )
        caller = KeepAliveCaller("cmcp_key", jsonrpc_answer_in)
        async with server:
            await caller.call(url, "list_mcf_orders", {})
            await caller.call(url, "list_mcf_orders", {})
            await caller.aclose()
        return per_connection

    assert asyncio.run(run()) == [1, 1]


def test_scaling_ceilings_from_cpu_a_call() -> None:
    from benchmarks import scaleout

    one = {"replicas": 3.0, "fakes": 0.5, "Redis": 0.25, "load generator": 0.25}
    two = {"replicas": 4.0, "fakes": 0.5, "Redis": 0.25, "load generator": 0.25}
    figures = scaleout._cpu_figures({1: [one], 2: [two]}, cores=2)
    rows = {row["metric"]: row["median"] for row in figures}
    assert rows["2 replicas: CPU a call, fakes"] == 0.5
    # Others cost 1 ms against the replicas' 4 ms; one replica alone needed 3 ms of 5 in all.
    ceilings = [v for k, v in rows.items() if "efficiency the CPU a call allows" in k]
    assert ceilings == [pytest.approx(0.8), pytest.approx(0.6)]
