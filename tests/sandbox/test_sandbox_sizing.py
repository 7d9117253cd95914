"""Benchmarks size the fakes' world and scale their rate plans; the defaults stay the tests' seed data."""

from __future__ import annotations

import socket

import httpx

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.catalog import DEFAULT_PRODUCTS, build_catalog
from commerce_mcp.sandbox.runner import start_sandbox


def test_default_catalog_is_the_seed_data_and_bigger_ones_extend_it() -> None:
    default = build_catalog()
    assert len(default.products) == DEFAULT_PRODUCTS == 220
    bigger = build_catalog(products_count=300)
    assert len(bigger.products) == 300
    assert bigger.products[:220] == default.products


def test_a_sized_sandbox_scales_both_rate_plans_and_answers_without_nagle_delays() -> None:
    sandbox = start_sandbox(products=30, tiktok_orders=(50, 5), rate_scale=10)
    try:
        assert len(sandbox.tiktok.shops[0].orders) == 50
        assert len(sandbox.tiktok.shops[0].products) == 30
        assert (sandbox.tiktok.config.qps, sandbox.tiktok.config.burst) == (500, 500)
        with httpx.Client(base_url=sandbox.amazon_url) as http:
            token = http.post(
                "/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.AMAZON_REFRESH_TOKEN,
                    "client_id": credentials.AMAZON_CLIENT_ID,
                    "client_secret": credentials.AMAZON_CLIENT_SECRET,
                },
            ).json()["access_token"]
            answers = [
                http.get(
                    "/fba/inventory/v1/summaries",
                    params={
                        "details": "true",
                        "granularityType": "Marketplace",
                        "granularityId": credentials.AMAZON_MARKETPLACE_ID,
                        "marketplaceIds": credentials.AMAZON_MARKETPLACE_ID,
                    },
                    headers={"x-amz-access-token": token},
                )
                for _ in range(15)
            ]
        # Published 2/s burst 2, scaled tenfold: the header says 20 and 15 at once fit the burst.
        assert {answer.status_code for answer in answers} == {200}
        assert answers[0].headers["x-amzn-RateLimit-Limit"] == "20"
        # asyncio disables Nagle only on accepted sockets whose proto is TCP; without it every
        # response waited ~40 ms for the client's delayed ACK.
        listening = [
            s for server in sandbox._servers for srv in server.servers for s in srv.sockets
        ]
        assert listening and all(s.proto == socket.IPPROTO_TCP for s in listening)
    finally:
        sandbox.stop()


def test_the_fakes_count_every_answer_they_give_by_path_and_status() -> None:
    """What a platform's dashboard would show; several client processes are seen as one sum."""
    sandbox = start_sandbox(products=5, tiktok_orders=(1, 0))
    try:
        with httpx.Client(base_url=sandbox.amazon_url) as http:
            statuses = [http.get("/fba/inventory/v1/summaries").status_code for _ in range(3)]
            http.get("/nowhere")
            rows = http.get("/_sandbox/traffic").json()["traffic"]
        assert statuses == [403, 403, 403]  # no token: refused before the plan is consulted
        assert {(r["path"], r["status"]): r["count"] for r in rows} == {
            ("/fba/inventory/v1/summaries", 403): 3,
            ("/nowhere", 404): 1,
        }
        assert sandbox.amazon_traffic.snapshot()[("GET", "/nowhere", 404)] == 1
        assert sandbox.tiktok_traffic.snapshot() == {}
    finally:
        sandbox.stop()
