"""One replica for the scale-out benchmark: ``python -m benchmarks._replica SCALE serve --transport
http --port P``.

The fakes' SP-API usage plans are multiplied by SCALE so that the replicas and Redis, not Amazon's
plan, bound the run; this replica's limiters are seeded with the same scaled plans, as a deployment
whose seller was granted higher limits would be. Everything else is ``commerce-mcp`` unchanged.
"""

from __future__ import annotations

import sys
from types import MappingProxyType


def main() -> None:
    scale = float(sys.argv[1])
    from commerce_mcp.amazon import client
    from commerce_mcp.resilience import limiter

    plans = MappingProxyType(
        {
            name: limiter.RatePlan(
                plan.rate * scale, round(plan.burst * scale), plan.assume_drained
            )
            for name, plan in limiter.SPAPI_PLANS.items()
        }
    )
    # The shared limiter reads the module's table when it is built; the client's own default
    # (SQLite state) reads the name it imported.
    limiter.SPAPI_PLANS = plans
    client.SPAPI_PLANS = plans
    from commerce_mcp.cli import main as serve

    serve(sys.argv[2:])


if __name__ == "__main__":
    main()
