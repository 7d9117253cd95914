"""SP-API regions: endpoints, sandbox hosts and marketplace ids (Amazon's published tables)."""

from __future__ import annotations

from typing import Literal

Region = Literal["na", "eu", "fe"]

ENDPOINTS: dict[Region, str] = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
SANDBOX_ENDPOINTS: dict[Region, str] = {
    "na": "https://sandbox.sellingpartnerapi-na.amazon.com",
    "eu": "https://sandbox.sellingpartnerapi-eu.amazon.com",
    "fe": "https://sandbox.sellingpartnerapi-fe.amazon.com",
}
AWS_REGIONS: dict[Region, str] = {"na": "us-east-1", "eu": "eu-west-1", "fe": "us-west-2"}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

#: Marketplace id by country code, grouped by the region that serves it.
MARKETPLACES: dict[Region, dict[str, str]] = {
    "na": {"US": "ATVPDKIKX0DER", "CA": "A2EUQ1WTGCTBG2", "MX": "A1AM78C64UM0Y8",
           "BR": "A2Q3Y263D00KWC"},
    "eu": {"UK": "A1F83G8C2ARO7P", "DE": "A1PA6795UKMFR9", "FR": "A13V1IB3VIYZZH",
           "IT": "APJ6JRA9NG5V4", "ES": "A1RKKUPIHCS9HS", "NL": "A1805IZSGTT6HS",
           "SE": "A2NODRKZP88ZB9", "PL": "A1C3SOZRARQ6R3", "BE": "AMEN7PMS3EDWL",
           "IE": "A28R8C7NBKEWEA", "TR": "A33AVAJ2PDY3EV", "AE": "A2VIGQ35RCS4UG",
           "SA": "A17E79C6D8DWNP", "EG": "ARBP9OOSHTCHU", "IN": "A21TJRUUN4KGV",
           "ZA": "AE08WJ6YKNBMC"},
    "fe": {"JP": "A1VC38T7YXB528", "AU": "A39IBJ37TRP1C6", "SG": "A19VAU5U5O7RUS"},
}  # fmt: skip
#: The marketplace used when none is configured: the region's largest.
DEFAULT_MARKETPLACE: dict[Region, str] = {"na": "ATVPDKIKX0DER", "eu": "A1F83G8C2ARO7P",
                                          "fe": "A1VC38T7YXB528"}  # fmt: skip


def region_of_marketplace(marketplace_id: str) -> Region | None:
    """The region that serves ``marketplace_id``, or None for an id we do not know."""
    for region, table in MARKETPLACES.items():
        if marketplace_id in table.values():
            return region
    return None


def endpoint_for(region: Region, *, sandbox: bool = False, override: str | None = None) -> str:
    """The SP-API base URL: an explicit override wins, then Amazon's sandbox or production host."""
    if override:
        return override.rstrip("/")
    return (SANDBOX_ENDPOINTS if sandbox else ENDPOINTS)[region]
