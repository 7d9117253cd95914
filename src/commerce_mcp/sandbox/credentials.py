"""The fixed credentials the fake platforms accept. Sandbox mode configures the real clients with them.

They are fake by construction and grant access to nothing but the loopback fakes.
"""

TIKTOK_APP_KEY = "sbx6a1b2c3d4e5f"
TIKTOK_APP_SECRET = "sandbox-tiktok-app-secret-0000000000000000"
TIKTOK_SERVICE_ID = "7300000000000000000"
#: An authorization code the fake auth host exchanges for the seeded token pair.
TIKTOK_AUTH_CODE = "sandbox-auth-code"
TIKTOK_ACCESS_TOKEN = "ROW_sandbox_access_token_0001"
TIKTOK_REFRESH_TOKEN = "ROW_sandbox_refresh_token_0001"

AMAZON_CLIENT_ID = "amzn1.application-oa2-client.sandbox0000000000000000"
AMAZON_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandbox-secret-000000000000000000000000"
AMAZON_REFRESH_TOKEN = "Atzr|sandbox-refresh-token-000000000000"
AMAZON_SELLER_ID = "A1SANDBOXSELLER"
AMAZON_MARKETPLACE_ID = "ATVPDKIKX0DER"
