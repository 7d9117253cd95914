"""TikTok Shop OAuth: the consent link, the loopback callback, code exchange, refresh and token custody.

Token calls are plain GETs on the auth host and are not signed. ``access_token_expire_in`` and
``refresh_token_expire_in`` are absolute Unix timestamps (a peer library reads them as durations; we
accept both, since a small number can only be a duration). Refresh tokens may rotate, so every grant is
saved whole, in one write.

Custody when the store fails between a refresh and its save: the refresh has reached TikTok, which may
have retired the refresh token the store still holds, so the new grant may be the only live one. It is
kept in the process (its access token is used at once, its refresh token spends the next refresh) and
saved as soon as the store answers: before the next call, and in the background. Other processes are
kept from spending the stale stored refresh token by a marker written *before* every refresh: "this
refresh token is being spent by <holder> since <time>". The holder's save replaces the marked record
(compare-and-set, so it never overwrites a newer record: a re-authorization, new env tokens). Another
process that finds the marker on the record it would refresh from waits instead (a retryable error)
for up to :data:`SPENT_MARKER_HOLD`; after that the holder is presumed gone, and the stored refresh
token is tried again (it still works unless TikTok rotated it, and then only a re-authorization helps).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.singleflight import AccessToken, CrossProcessFlight, TokenProvider
from commerce_mcp.store.tokens import TokenStore, fingerprint
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.models import TokenGrant
from commerce_mcp.tiktok.transport import parse_envelope
from commerce_mcp.timefmt import iso_utc

log = logging.getLogger(__name__)

PLATFORM: errors.Platform = "tiktok"
CONSENT_BASE_URLS = {
    "row": "https://services.tiktokshop.com/open/authorize",
    "us": "https://services.tiktokshops.us/open/authorize",
}
#: A seeded access token's expiry is unknown; assume the documented default lifetime.
DEFAULT_ACCESS_TOKEN_LIFETIME = 7 * 86_400.0
_EPOCH_THRESHOLD = 1_000_000_000
SPENT_MARKER_HOLD = 600.0
"""How long a refresh marker keeps other processes from spending the stored refresh token. The holder
retries its save all that time (:data:`HELD_SAVE_RETRY`); a marker older than this belongs to a process
that died (its grant died with it) or cannot reach a store the others can."""
HELD_SAVE_RETRY = (1.0, 30.0)
"""First and longest wait between background saves of a held grant (doubling in between)."""


def consent_url(
    service_id: str,
    *,
    region: str = "row",
    consent_base_url: str | None = None,
    state: str | None = None,
    redirect_uri: str | None = None,
) -> str:
    """The link a seller opens to authorize the app (v202407 flow).

    The US host differs between documentation versions, so ``consent_base_url`` (from
    TIKTOK_CONSENT_BASE_URL, or Partner Center's "Copy authorization link") wins over the default.
    """
    base = consent_base_url or CONSENT_BASE_URLS.get(region.lower(), CONSENT_BASE_URLS["row"])
    params = {"service_id": service_id}
    if state:
        params["state"] = state
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode(params)}"


def parse_redirect(url_or_code: str, *, expected_state: str | None = None) -> str:
    """The authorization code from a pasted redirect URL, query string or bare code."""
    text = url_or_code.strip()
    if not text:
        raise errors.InvalidRequest(
            "no authorization code given", hint="paste the full redirect URL or the code"
        )
    if "code=" not in text and "error=" not in text:
        return text
    query = urlsplit(text).query if "://" in text or text.startswith("/") else text.lstrip("?")
    values = parse_qs(query, keep_blank_values=True)
    if values.get("error"):
        raise errors.AuthError(
            f"the seller did not authorize the app ({values['error'][0]})",
            platform=PLATFORM,
            hint="open the consent link again and approve access",
        )
    code = (values.get("code") or [""])[0]
    if not code or code == "null":
        raise errors.InvalidRequest(
            "the redirect URL carries no authorization code",
            platform=PLATFORM,
            hint="paste the whole redirect URL",
        )
    if expected_state is not None and (values.get("state") or [""])[0] != expected_state:
        raise errors.AuthError(
            "the redirect's state does not match this authorization attempt",
            platform=PLATFORM,
            hint="start `commerce-mcp tiktok authorize` again and use its newest link",
        )
    return code


async def wait_for_callback(host: str, port: int, state: str | None, timeout: float) -> str:  # noqa: ASYNC109
    """Serve one loopback redirect (``GET /...?code=..&state=..``) and return its code.

    Requests without a code (a browser's favicon fetch) are answered 404 and waited past.
    """
    loop = asyncio.get_running_loop()
    result: asyncio.Future[str] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode("latin-1")
            if "code=" not in target and "error=" not in target:
                _reply(writer, 404, "Not the authorization callback.")
                return
            try:
                code = parse_redirect(target, expected_state=state)
            except errors.CommerceError as error:
                _reply(writer, 400, error.message)
                if not result.done():
                    result.set_exception(error)
                return
            _reply(writer, 200, "TikTok Shop authorized. You can close this tab.")
            if not result.done():
                result.set_result(code)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
            _reply(writer, 400, "Bad request.")
        finally:
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    try:
        async with server:
            return await asyncio.wait_for(result, timeout)
    except TimeoutError:
        raise errors.AuthError(
            f"no authorization arrived on http://{host}:{port} within {timeout:.0f}s",
            platform=PLATFORM,
            hint="open the consent link, or paste the redirect URL instead",
        ) from None


def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"<html><body><p>{text}</p></body></html>".encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )


def expiry_epoch(value: float | int | None, now: float) -> float | None:
    """Absolute expiry from a token field: epochs stay, small numbers are durations from ``now``."""
    if value is None:
        return None
    return float(value) if value > _EPOCH_THRESHOLD else now + float(value)


class AuthClient:
    """The auth host's two calls (plain GET, unsigned)."""

    def __init__(
        self, http: httpx.AsyncClient, auth_base_url: str, app_key: str, app_secret: str
    ) -> None:
        self._http = http
        self._base = auth_base_url.rstrip("/")
        self._app_key = app_key
        self._secret = app_secret

    async def exchange_code(self, code: str) -> TokenGrant:
        """Exchange an authorization code (single use, valid 30 minutes) for tokens."""
        return await self._call(
            "/api/v2/token/get",
            "exchange_tiktok_auth_code",
            {"auth_code": code, "grant_type": "authorized_code"},
        )

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """A new access token (and possibly a rotated refresh token)."""
        return await self._call(
            "/api/v2/token/refresh",
            "refresh_tiktok_token",
            {"refresh_token": refresh_token, "grant_type": "refresh_token"},
        )

    async def _call(self, path: str, operation: str, extra: dict[str, str]) -> TokenGrant:
        params = {"app_key": self._app_key, "app_secret": self._secret, **extra}
        try:
            response = await self._http.get(f"{self._base}{path}", params=params, timeout=20.0)
        except httpx.HTTPError as error:
            raise classify.from_transport(error, operation) from error
        try:
            data = parse_envelope(response, operation)
        except (errors.TransientError, errors.RateLimited):
            raise
        except errors.CommerceError as error:
            raise errors.AuthError(
                f"TikTok Shop refused the token request: {error.message}",
                platform=PLATFORM,
                code=error.code,
                request_id=error.request_id,
                http_status=error.http_status,
                operation=operation,
                hint="re-authorize with `commerce-mcp tiktok authorize` (codes are single use "
                "and expire after 30 minutes), and check TIKTOK_APP_KEY/TIKTOK_APP_SECRET",
            ) from error
        try:
            return TokenGrant.model_validate(data)
        except ValueError:
            raise errors.BadResponse(
                "TikTok Shop's token response lacks the tokens",
                platform=PLATFORM,
                operation=operation,
            ) from None


@dataclass
class StoredTokens:
    """What is persisted per app: both tokens, their absolute expiries, and the env seed they came
    from (so a newly pasted env token replaces a stale stored one, and an old env token does not
    overwrite a newer rotation)."""

    access_token: str | None
    access_expires_at: float
    refresh_token: str | None
    refresh_expires_at: float | None
    seed: str | None
    #: ``<holder>:<refresh token fingerprint>`` while a refresh from this record is under way (or
    #: its result is held unsaved); see the module docstring.
    spending: str | None = None
    spending_since: float | None = None

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "access_token": self.access_token,
            "access_expires_at": self.access_expires_at,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at,
            "seed": self.seed,
        }
        if self.spending is not None:
            doc |= {"spending": self.spending, "spending_since": self.spending_since}
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredTokens:
        return cls(
            access_token=doc.get("access_token"),
            access_expires_at=float(doc.get("access_expires_at") or 0.0),
            refresh_token=doc.get("refresh_token"),
            refresh_expires_at=doc.get("refresh_expires_at"),
            seed=doc.get("seed"),
            spending=doc.get("spending"),
            spending_since=doc.get("spending_since"),
        )

    @classmethod
    def from_grant(cls, grant: TokenGrant, now: float, seed: str | None) -> StoredTokens:
        return cls(
            access_token=grant.access_token,
            access_expires_at=expiry_epoch(grant.access_token_expire_in, now) or now,
            refresh_token=grant.refresh_token,
            refresh_expires_at=expiry_epoch(grant.refresh_token_expire_in, now),
            seed=seed,
        )


def seed_fingerprint(access_token: str | None, refresh_token: str | None) -> str | None:
    """A non-reversible tag for the env tokens (never the tokens themselves)."""
    if not access_token and not refresh_token:
        return None
    return fingerprint(access_token or "", refresh_token or "")


class TokenManager:
    """Custody of one app's tokens: load or seed, hand out fresh access tokens, refresh once, and
    keep a grant the store could not take until it can (see the module docstring)."""

    def __init__(
        self,
        auth: AuthClient,
        tokens: TokenStore,
        app_key: str,
        clock: Clock,
        *,
        env_access_token: str | None = None,
        env_refresh_token: str | None = None,
        refresh_ahead: float = 300.0,
        across_processes: CrossProcessFlight | None = None,
    ) -> None:
        self._auth = auth
        self._across = across_processes
        self._tokens = tokens
        self._app_key = app_key
        self._clock = clock
        self._env_access = env_access_token
        self._env_refresh = env_refresh_token
        self._refresh_ahead = refresh_ahead
        self._provider: TokenProvider | None = None
        self._init_lock = asyncio.Lock()
        self._rejected: set[str] = set()
        self.refresh_requests = 0
        # Names this custodian in refresh markers: its own marker never holds it back.
        self._holder = secrets.token_hex(8)
        # Refreshes and saves of a held grant, one at a time: a save must not race a newer refresh.
        self._custody = asyncio.Lock()
        self._held: StoredTokens | None = None
        """A grant TikTok issued that the store has not taken yet: the newest refresh token."""
        self._held_over: dict[str, Any] | None = None
        """The stored record the held grant replaces (our marker on it): what the save expects."""
        self._saver: asyncio.Task[None] | None = None

    @property
    def holding_unsaved(self) -> bool:
        """True while a refreshed grant exists only in this process."""
        return self._held is not None

    async def access_token(self) -> str:
        """A token good for at least ``refresh_ahead`` seconds (refreshing first if needed)."""
        if self._held is not None and not self._custody.locked():
            # Before anything else: the held grant into the store, if it answers now. (A refresh or
            # save already under way does this itself.)
            async with self._custody:
                await self._save_held()
        provider = await self._ensure_provider()
        return await provider.get()

    def expired_callback(self, rejected: Callable[[], str | None]) -> Callable[[], Awaitable[None]]:
        """For the retry loop: after a 105002, drop the rejected token and get a fresh one."""

        async def refresh() -> None:
            provider = await self._ensure_provider()
            value = rejected()
            if value is not None:
                self._rejected.add(value)
                provider.invalidate(value)
            await provider.get()

        return refresh

    async def save_grant(self, grant: TokenGrant) -> StoredTokens:
        """Persist a grant from a code exchange or refresh (both tokens in one write)."""
        record = StoredTokens.from_grant(grant, self._clock.wall(), self._seed())
        async with self._custody:
            await self._tokens.save(PLATFORM, self._app_key, record.to_document())
            self._drop_held()  # a new authorization supersedes whatever was held
        if self._provider is not None:
            self._provider = self._new_provider(record)
        return record

    async def aclose(self) -> None:
        """Stop the background save of a held grant (the grant is lost with the process)."""
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        if self._held is not None:
            log.error(
                "tiktok: closing with a refreshed token the state store never took; if TikTok "
                "rotated the refresh token, run `commerce-mcp tiktok authorize` again"
            )

    async def _ensure_provider(self) -> TokenProvider:
        if self._provider is not None:
            return self._provider
        async with self._init_lock:
            if self._provider is None:
                self._provider = self._new_provider(await self._load_or_seed())
            return self._provider

    def _new_provider(self, record: StoredTokens) -> TokenProvider:
        initial = (
            AccessToken(record.access_token, record.access_expires_at)
            if record.access_token
            else None
        )
        return TokenProvider(
            self._fetch, self._clock, refresh_ahead=self._refresh_ahead, initial=initial
        )

    def _seed(self) -> str | None:
        return seed_fingerprint(self._env_access, self._env_refresh)

    async def _load_or_seed(self) -> StoredTokens:
        doc = await self._tokens.load(PLATFORM, self._app_key)
        seed = self._seed()
        if doc is not None:
            stored = StoredTokens.from_document(doc)
            # Same env seed (or none): the store is newer, e.g. after a rotation. A different seed
            # means the operator pasted new tokens, which win.
            if seed is None or stored.seed == seed:
                return stored
        if seed is None:
            raise errors.AuthError(
                "no TikTok Shop tokens are stored for this app",
                platform=PLATFORM,
                hint="run `commerce-mcp tiktok authorize`, or set TIKTOK_ACCESS_TOKEN and "
                "TIKTOK_REFRESH_TOKEN",
            )
        now = self._clock.wall()
        record = StoredTokens(
            access_token=self._env_access,
            access_expires_at=now + DEFAULT_ACCESS_TOKEN_LIFETIME if self._env_access else 0.0,
            refresh_token=self._env_refresh,
            refresh_expires_at=None,
            seed=seed,
        )
        await self._tokens.save(PLATFORM, self._app_key, record.to_document())
        return record

    async def _fetch(self) -> AccessToken:
        async with self._custody:
            if not await self._save_held():
                # The store still refuses: the held refresh token is the live one, and no other
                # process knows it, so there is nothing to coordinate (or adopt) across processes.
                return await self._refresh()
            if self._across is None:
                return await self._adopt_stored() or await self._refresh()
            # TikTok rotates refresh tokens: two replicas refreshing at once could each spend the
            # same refresh token, and the loser's stored token would be dead. One refreshes, others
            # adopt.
            return await self._across(
                f"tiktok-token:{self._app_key}", self._adopt_stored, self._refresh
            )

    async def _adopt_stored(self) -> AccessToken | None:
        """The stored access token when it is still good (another replica may have refreshed)."""
        doc = await self._tokens.load(PLATFORM, self._app_key)
        record = StoredTokens.from_document(doc) if doc else None
        if (
            record is not None
            and record.access_token
            and record.access_token not in self._rejected
            and record.access_expires_at - self._refresh_ahead > self._clock.wall()
        ):
            return AccessToken(record.access_token, record.access_expires_at)
        return None

    async def _refresh(self) -> AccessToken:
        """Spend the newest refresh token (held, else stored, else env) and keep the new grant.

        Called with ``_custody`` held.
        """
        if self._held is not None:
            source, over = self._held, self._held_over
        else:
            source = await self._mark_spending()
            over = source.to_document()
        refresh_token = source.refresh_token or self._env_refresh
        if not refresh_token:
            raise _no_refresh_token()
        self.refresh_requests += 1
        try:
            grant = await self._auth.refresh(refresh_token)
        except BaseException:
            # No grant came back (refused, unanswered, or cut off as the server closes): nothing
            # is held anywhere, so no other process should wait for our marker.
            if self._held is None:
                await self._unmark(source)
            raise
        fresh = StoredTokens.from_grant(grant, self._clock.wall(), source.seed)
        was_held = self._held is not None
        self._held, self._held_over = fresh, over
        if not await self._save_held():
            if not was_held:
                # Once, as custody starts (no token values): the next calls and a background task
                # keep trying; if the process ends first, the seller may have to re-authorize.
                log.warning(
                    "tiktok: access token refreshed, but the state store did not take the new "
                    "tokens; holding them in this process and saving them as soon as it answers"
                )
            if self._saver is None or self._saver.done():
                self._saver = asyncio.get_running_loop().create_task(self._save_in_background())
        log.info("tiktok: access token refreshed (expires at %.0f)", fresh.access_expires_at)
        return AccessToken(grant.access_token, fresh.access_expires_at)

    async def _mark_spending(self) -> StoredTokens:
        """The stored record to refresh from, marked (and saved) as being spent by us.

        Refuses, retryably, to spend a refresh token another process is spending or has spent
        without saving the result. An outage here means nothing was sent.
        """
        with errors.before_any_send():
            doc = await self._tokens.load(PLATFORM, self._app_key)
        record = (
            StoredTokens.from_document(doc)
            if doc
            else StoredTokens(None, 0.0, self._env_refresh, None, self._seed())
        )
        if not (record.refresh_token or self._env_refresh):
            # Nothing to spend: a marker would only keep others waiting for a refresh never made.
            raise _no_refresh_token()
        tag = fingerprint(record.refresh_token or self._env_refresh or "")
        holder, _, spent = (record.spending or "").partition(":")
        if record.spending and holder != self._holder and spent == tag:
            since = record.spending_since or 0.0
            if self._clock.wall() < since + SPENT_MARKER_HOLD:
                raise errors.TransientError(
                    "another commerce-mcp process refreshed the TikTok Shop token and has not "
                    "saved the new one yet",
                    platform=PLATFORM,
                    hint="retry in a minute (it keeps trying to save); until "
                    f"{iso_utc(since + SPENT_MARKER_HOLD)} no other process spends the stored "
                    "refresh token, which TikTok may have retired; if TikTok later refuses it, "
                    "run `commerce-mcp tiktok authorize`",
                )
            log.warning(
                "tiktok: another process refreshed the token at %.0f and never saved the result; "
                "trying the stored refresh token",
                since,
            )
        marked = dataclasses.replace(
            record,
            spending=f"{self._holder}:{tag}",
            spending_since=self._clock.wall(),
        )
        with errors.before_any_send():
            if not await self._tokens.replace(PLATFORM, self._app_key, doc, marked.to_document()):
                raise errors.TransientError(
                    "the stored TikTok Shop tokens changed while this refresh began",
                    platform=PLATFORM,
                    hint="retry; nothing was sent",
                )
        return marked

    async def _unmark(self, marked: StoredTokens) -> None:
        """After a refresh that brought no grant: take our marker off, so others need not wait."""
        plain = dataclasses.replace(marked, spending=None, spending_since=None)
        try:
            await self._tokens.replace(
                PLATFORM, self._app_key, marked.to_document(), plain.to_document()
            )
        except errors.StateStoreUnavailable:
            log.info("tiktok: could not clear a refresh marker; it lapses by itself")

    async def _save_held(self) -> bool:
        """Save the held grant over the record it replaces; True once nothing is held.

        Called with ``_custody`` held. A record that changed meanwhile (a re-authorization, new
        env tokens, another process after the marker lapsed) is newer custody: it is kept, and
        the held grant dropped.
        """
        held = self._held
        if held is None:
            return True
        doc = held.to_document()
        try:
            saved = await self._tokens.replace(PLATFORM, self._app_key, self._held_over, doc)
            # A conditional write whose reply was lost may have landed: then the record is ours.
            saved = saved or await self._tokens.load(PLATFORM, self._app_key) == doc
        except errors.StateStoreUnavailable:
            return False
        was_unsaved = self._saver is not None
        self._drop_held()
        if not saved:
            log.warning(
                "tiktok: the stored tokens changed while a refreshed token was held unsaved; "
                "keeping the stored ones"
            )
        elif was_unsaved:
            log.warning("tiktok: the refreshed tokens held in this process are saved now")
        return True

    def _drop_held(self) -> None:
        self._held = self._held_over = None
        if self._saver is not None and self._saver is not asyncio.current_task():
            self._saver.cancel()
        self._saver = None

    async def _save_in_background(self) -> None:
        """Retry the save while nobody calls (a quiet replica must not sit on the live grant) for
        as long as the marker holds other processes back."""
        wait, longest = HELD_SAVE_RETRY
        until = self._clock.wall() + SPENT_MARKER_HOLD
        while self._held is not None and self._clock.wall() < until:
            await self._clock.sleep(wait)
            async with self._custody:
                if await self._save_held():
                    return
            wait = min(wait * 2, longest)


def _no_refresh_token() -> errors.AuthError:
    return errors.AuthError(
        "the TikTok Shop access token expired and no refresh token is available",
        platform=PLATFORM,
        hint="set TIKTOK_REFRESH_TOKEN or run `commerce-mcp tiktok authorize`",
    )
