"""One answer to "can this channel make calls?", shared by services, clients, status, doctor and CLI.

Settings alone cannot answer it for TikTok Shop: after ``commerce-mcp tiktok authorize`` the tokens
live in the state store, not in the environment. So the answer is computed from the settings plus
one fact about the store (are tokens saved for this app?), once, in
:meth:`commerce_mcp.services.Services.readiness`, and handed down as a typed value. Nothing else
decides it, and nobody matches strings to find out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from commerce_mcp.config import Settings
from commerce_mcp.errors import NotConfigured

Channel = Literal["tiktok", "amazon"]

CHANNEL_NAMES: dict[Channel, str] = {"tiktok": "TikTok Shop", "amazon": "Amazon SP-API"}

TIKTOK_TOKEN_SETTING = "TIKTOK_ACCESS_TOKEN (or TIKTOK_REFRESH_TOKEN)"
"""How the missing TikTok token is named to a person (either variable will do)."""


class ReadinessState(StrEnum):
    """Why a channel can, or cannot, make calls."""

    READY = "ready"
    """Every credential comes from the settings (environment or ``.env``)."""
    READY_VIA_STORED_TOKENS = "ready_via_stored_tokens"
    """The app is configured and ``commerce-mcp tiktok authorize`` saved the seller's tokens."""
    MISSING_SETTINGS = "missing_settings"
    """Some settings are missing; ``missing`` names them."""


@dataclass(frozen=True)
class ChannelReadiness:
    """Whether ``channel`` can make calls, and if not, exactly which settings to provide."""

    channel: Channel
    state: ReadinessState
    missing: tuple[str, ...] = ()
    note: str | None = None
    """Anything else worth knowing, e.g. that the saved tokens could not be read."""

    @property
    def ready(self) -> bool:
        """True when the channel's client can be built and make calls."""
        return self.state is not ReadinessState.MISSING_SETTINGS

    @property
    def name(self) -> str:
        """The channel as a person calls it ("TikTok Shop", "Amazon SP-API")."""
        return CHANNEL_NAMES[self.channel]

    def summary(self) -> str:
        """One line: configured (and from where), or what is missing."""
        if self.state is ReadinessState.READY:
            return "configured"
        if self.state is ReadinessState.READY_VIA_STORED_TOKENS:
            return "configured (seller tokens saved by `commerce-mcp tiktok authorize`)"
        text = f"not configured; set {', '.join(self.missing)}"
        return f"{text} ({self.note})" if self.note else text

    def require(self) -> None:
        """Raise :class:`~commerce_mcp.errors.NotConfigured` naming what is missing, unless ready."""
        if self.ready:
            return
        hint = None
        if self.channel == "tiktok" and TIKTOK_TOKEN_SETTING in self.missing:
            others = [name for name in self.missing if name != TIKTOK_TOKEN_SETTING]
            first = f"set {', '.join(others)}, then " if others else ""
            hint = (
                f"{first}run `commerce-mcp tiktok authorize` to save the seller's tokens, or set "
                "TIKTOK_ACCESS_TOKEN / TIKTOK_REFRESH_TOKEN (or run with --sandbox to try fake data)"
            )
        if self.note:
            hint = f"{hint or 'set them in the environment or .env'}; note: {self.note}"
        raise NotConfigured(self.name, list(self.missing), hint=hint)


def tiktok_readiness(
    settings: Settings, *, has_stored_tokens: bool, note: str | None = None
) -> ChannelReadiness:
    """TikTok Shop needs the app key and secret, plus tokens from the environment or the store.

    ``has_stored_tokens``: the state store holds tokens for ``settings.tiktok_app_key`` (what
    ``commerce-mcp tiktok authorize`` saves); only consulted when the environment has no token.
    ``note`` is kept on a not-ready answer (e.g. why the store could not be read).
    """
    missing = settings.tiktok_app_missing()
    if missing:
        if not settings.tiktok_token_in_env and not has_stored_tokens:
            missing.append(TIKTOK_TOKEN_SETTING)
        return ChannelReadiness("tiktok", ReadinessState.MISSING_SETTINGS, tuple(missing))
    if settings.tiktok_token_in_env:
        return ChannelReadiness("tiktok", ReadinessState.READY)
    if has_stored_tokens:
        return ChannelReadiness("tiktok", ReadinessState.READY_VIA_STORED_TOKENS)
    return ChannelReadiness(
        "tiktok", ReadinessState.MISSING_SETTINGS, (TIKTOK_TOKEN_SETTING,), note=note
    )


def amazon_readiness(settings: Settings) -> ChannelReadiness:
    """Amazon SP-API is ready when its four credentials are set (it keeps no stored tokens)."""
    missing = settings.amazon_missing()
    if missing:
        return ChannelReadiness("amazon", ReadinessState.MISSING_SETTINGS, tuple(missing))
    return ChannelReadiness("amazon", ReadinessState.READY)


def tiktok_authorize_missing(settings: Settings) -> list[str]:
    """Settings ``commerce-mcp tiktok authorize`` needs before it can start (no tokens, of course)."""
    missing = settings.tiktok_app_missing()
    if not settings.tiktok_service_id:
        missing.append("TIKTOK_SERVICE_ID")
    return missing
