"""Hosted mode: streamable HTTP, OAuth 2.1 resource server, API keys and tenants.

Nothing here is imported in stdio mode. The pieces, outermost first:

``serve``       start-up rules (no unauthenticated public bind), uvicorn, graceful drain on SIGTERM
``app``         the ASGI app: health and readiness, Protected Resource Metadata, the auth gate, the
                scope gate for write tools, then the SDK's streamable HTTP handler
``jwt_auth``    access tokens from the configured issuer, checked against its cached JWKS
``api_keys``    random keys for simple self-hosting; only salted hashes are stored
``tenants``     one seller per tenant: its platform credentials (encrypted at rest), write policy,
                toolsets; per-tenant services built on first use and evicted when idle
"""
