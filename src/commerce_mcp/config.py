"""Settings from the environment and an optional ``.env`` file.

Loading never raises: a value that does not parse is replaced by its default and recorded in
``Settings.problems`` so that ``get_connection_status`` and ``doctor`` can say what to fix, while the server
keeps running. Secrets are ``SecretStr`` so they never leak through ``repr``, logs or results.

Every setting is one scalar named like its variable, so reading them is a dictionary lookup and pydantic
parses the strings; this needs no settings framework, whose import alone cost every spawn of the server
about 10 ms, a third of what it then added to a bare MCP server's start-up (``benchmarks/startup.py``).
Precedence is the usual one: explicit values, then the environment, then ``.env`` in the working
directory, then defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticUseDefault

TOOLSETS = ("tiktok", "amazon", "crosschannel")
#: URL schemes COMMERCE_MCP_STATE_URL accepts (Redis over TCP, TLS, or a Unix socket).
STATE_URL_SCHEMES = ("redis://", "rediss://", "unix://")
AmazonRegion = Literal["na", "eu", "fe"]
TikTokRegion = Literal["row", "us"]

#: Default marketplace per SP-API region (US, UK, JP), used when AMAZON_MARKETPLACE_ID is unset.
DEFAULT_MARKETPLACE = {"na": "ATVPDKIKX0DER", "eu": "A1F83G8C2ARO7P", "fe": "A1VC38T7YXB528"}


#: Read for settings the environment does not set (relative to the working directory).
ENV_FILE = Path(".env")


class Settings(BaseModel):
    """Everything the server can be told. Field names are the env var names, lowercased.

    Built from explicit values only; :func:`load_settings` adds the environment and ``.env``.
    """

    model_config = ConfigDict(extra="ignore")

    # TikTok Shop
    tiktok_app_key: str | None = None
    tiktok_app_secret: SecretStr | None = None
    tiktok_access_token: SecretStr | None = None
    tiktok_refresh_token: SecretStr | None = None
    tiktok_shop_id: str | None = None
    tiktok_service_id: str | None = None
    tiktok_region: TikTokRegion = "row"
    tiktok_api_base_url: str = "https://open-api.tiktokglobalshop.com"
    tiktok_auth_base_url: str = "https://auth.tiktok-shops.com"
    tiktok_consent_base_url: str | None = None

    # Amazon SP-API
    amazon_sp_api_client_id: str | None = None
    amazon_sp_api_client_secret: SecretStr | None = None
    amazon_sp_api_refresh_token: SecretStr | None = None
    amazon_seller_id: str | None = None
    amazon_marketplace_id: str | None = None
    amazon_sp_api_region: AmazonRegion = "na"
    amazon_sp_api_sandbox: bool = False
    amazon_sp_api_endpoint: str | None = None
    amazon_lwa_token_url: str | None = None

    # Server
    commerce_mcp_sandbox: bool = False
    #: None (unset) means "the mode decides": off live, on in the sandbox. An explicit value always wins.
    commerce_mcp_allow_writes: bool | None = None
    commerce_mcp_toolsets: str = ",".join(TOOLSETS)
    commerce_mcp_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    commerce_mcp_state_dir: Path | None = None
    #: ``redis://…`` (or ``rediss://``, ``unix://``): keep state in Redis, shared by every replica.
    #: Unset: SQLite in the state directory. A secret, since the URL may carry a password.
    commerce_mcp_state_url: SecretStr | None = None
    commerce_mcp_deadline_seconds: float = Field(default=45.0, gt=0, le=600)
    commerce_mcp_sku_map: str | None = None
    commerce_mcp_carrier_map: str | None = None
    #: Signs confirmation tokens; set the same value on every replica so any can confirm a preview.
    commerce_mcp_confirmation_secret: SecretStr | None = Field(default=None, min_length=32)

    @field_validator("commerce_mcp_log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("amazon_sp_api_region", "tiktok_region", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("commerce_mcp_state_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().lower().startswith(STATE_URL_SCHEMES):
            # Say which schemes work, never echo the URL (it may hold a password).
            raise ValueError(f"must start with one of {', '.join(STATE_URL_SCHEMES)}")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `FOO=` in a .env file means "not set", not "the empty string": the field's default.
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()
        return value

    # Derived views -----------------------------------------------------------------------------

    @property
    def sandbox(self) -> bool:
        return self.commerce_mcp_sandbox

    @property
    def state_url(self) -> str | None:
        """The Redis URL of the shared state store, or None for the SQLite default."""
        url = self.commerce_mcp_state_url
        return url.get_secret_value() if url is not None else None

    @property
    def writes_enabled(self) -> bool:
        """COMMERCE_MCP_ALLOW_WRITES when set; otherwise on in sandbox mode (fake data cannot cost
        money) and off live."""
        if self.commerce_mcp_allow_writes is not None:
            return self.commerce_mcp_allow_writes
        return self.commerce_mcp_sandbox

    @property
    def writes_decided_by(self) -> str:
        """Which setting decided :attr:`writes_enabled`, in words a person can act on."""
        if self.commerce_mcp_allow_writes is not None:
            return f"COMMERCE_MCP_ALLOW_WRITES={str(self.commerce_mcp_allow_writes).lower()}"
        if self.commerce_mcp_sandbox:
            return "sandbox default; COMMERCE_MCP_ALLOW_WRITES=false turns them off"
        return "default; COMMERCE_MCP_ALLOW_WRITES=true turns them on"

    @property
    def toolsets(self) -> frozenset[str]:
        names = {part.strip().lower() for part in self.commerce_mcp_toolsets.split(",")}
        return frozenset(name for name in names if name in TOOLSETS)

    @property
    def unknown_toolsets(self) -> list[str]:
        names = {part.strip().lower() for part in self.commerce_mcp_toolsets.split(",")}
        return sorted(name for name in names if name and name not in TOOLSETS)

    @property
    def marketplace_id(self) -> str:
        return self.amazon_marketplace_id or DEFAULT_MARKETPLACE[self.amazon_sp_api_region]

    def tiktok_app_missing(self) -> list[str]:
        """The TikTok app's own env vars still unset (the seller's tokens are a separate matter)."""
        missing = []
        if not self.tiktok_app_key:
            missing.append("TIKTOK_APP_KEY")
        if self.tiktok_app_secret is None:
            missing.append("TIKTOK_APP_SECRET")
        return missing

    @property
    def tiktok_token_in_env(self) -> bool:
        """A TikTok access or refresh token is set in the environment."""
        return self.tiktok_access_token is not None or self.tiktok_refresh_token is not None

    def amazon_missing(self) -> list[str]:
        """Env vars the Amazon channel still needs (see :func:`commerce_mcp.readiness.amazon_readiness`)."""
        required: dict[str, object] = {
            "AMAZON_SP_API_CLIENT_ID": self.amazon_sp_api_client_id,
            "AMAZON_SP_API_CLIENT_SECRET": self.amazon_sp_api_client_secret,
            "AMAZON_SP_API_REFRESH_TOKEN": self.amazon_sp_api_refresh_token,
            "AMAZON_SELLER_ID": self.amazon_seller_id,
        }
        return [name for name, value in required.items() if not value]


@dataclass(frozen=True)
class ConfigProblem:
    """A setting that could not be parsed and was replaced by its default."""

    variable: str
    message: str


def environment_values() -> dict[str, str]:
    """The settings the environment and ``.env`` set, by field name.

    Variable names match case-insensitively; the environment wins over the file.
    """
    found: dict[str, str] = {}
    if ENV_FILE.is_file():
        # Imported only when there is a file to read: most spawns have none.
        from dotenv import dotenv_values

        values = dotenv_values(ENV_FILE, encoding="utf-8")
        found.update({key.lower(): value for key, value in values.items() if value is not None})
    found.update({key.lower(): value for key, value in os.environ.items()})
    return {name: found[name] for name in Settings.model_fields if name in found}


def load_settings(**overrides: Any) -> tuple[Settings, list[ConfigProblem]]:
    """Load settings, never raising: unparseable values fall back to defaults and are reported.

    ``overrides`` win over the environment and ``.env``.
    """
    problems: list[ConfigProblem] = []
    fallback: dict[str, Any] = {}
    environment = environment_values()
    for _ in range(len(Settings.model_fields) + 1):
        try:
            return Settings(**{**environment, **fallback, **overrides}), problems
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                if field not in Settings.model_fields or field in fallback:
                    continue
                fallback[field] = Settings.model_fields[field].get_default(
                    call_default_factory=True
                )
                overrides.pop(field, None)
                problems.append(ConfigProblem(field.upper(), _short(error["msg"])))
    return Settings.model_construct(), problems  # unreachable in practice; keeps the promise


def _short(message: str) -> str:
    return message if len(message) <= 160 else message[:157] + "..."
