"""Create something at most once under an idempotency key, even across ambiguous failures.

The protocol (reference §4.4): record the intent before the first request; after any failure that
leaves the outcome in doubt, look the key up before sending anything again; if the lookup cannot tell
either, stop and say "outcome unknown" with the key, never risking a second order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from commerce_mcp.errors import (
    AmbiguousError,
    AuthError,
    CommerceError,
    Conflict,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    StateStoreUnavailable,
    TransientError,
    before_any_send,
)
from commerce_mcp.store.ledger import (
    Intent,
    IntentConflict,
    IntentLedger,
    IntentStatus,
    payload_hash,
)

log = logging.getLogger(__name__)

DUPLICATE_CREATE_CODE = "DuplicateCreate"
"""Code a client gives the Conflict it raises for "a create request already exists" answers."""

MAX_CREATE_ROUNDS = 3
"""Create requests sent per call, each after a lookup said the key is not there."""


@dataclass(frozen=True)
class CreateOutcome:
    """What :func:`create_once` ended with.

    ``created_now``: a request sent by *this* call created the object. False means it existed
    already (an earlier call, a crashed process or a concurrent replica created it), so the caller
    must answer "already created", never "created". ``replayed``: served from the ledger, nothing
    sent. ``reconciled``: the object was found by looking it up after a doubt.
    """

    key: str
    result: dict[str, Any]
    created_now: bool
    reconciled: bool = False
    replayed: bool = False


def _definitely_not_created(error: CommerceError) -> bool:
    """Errors that prove the platform did not create anything for this request."""
    if isinstance(error, AmbiguousError):
        return False
    return isinstance(
        error,
        InvalidRequest | NotFound | PermissionDenied | AuthError | RateLimited | TransientError,
    ) or (isinstance(error, Conflict) and error.code != DUPLICATE_CREATE_CODE)


async def create_once(
    *,
    key: str,
    payload: Mapping[str, Any],
    ledger: IntentLedger,
    create: Callable[[], Awaitable[dict[str, Any]]],
    lookup: Callable[[], Awaitable[dict[str, Any] | None]],
    check_tool: str = "get_mcf_order",
) -> CreateOutcome:
    """Create the object for ``key`` once, reconciling via ``lookup`` when the outcome is unclear.

    ``payload`` is the caller's intent (never a volatile field such as "now"): its hash decides
    whether a repeat is the same request. ``create`` sends the request (and raises
    :class:`AmbiguousError` when it may have been processed, or ``Conflict(code="DuplicateCreate")``
    when the platform says it already exists); ``lookup`` fetches the object by key, returning None
    when it does not exist. The same key with the same payload returns the stored result; the same
    key with a different payload is a :class:`Conflict`.
    """
    digest = payload_hash(payload)
    with before_any_send():
        intent, started = await ledger.begin(key, digest)
    in_doubt = False
    if not started:
        if intent.status is IntentStatus.FAILED:
            with before_any_send():  # the earlier request was refused: nothing of it exists
                intent = await _restart(ledger, intent, digest)
        elif intent.payload_hash != digest:
            raise Conflict(
                f"the id {key!r} was already used for a different request",
                code="IdempotencyKeyReused",
                hint="use a new id for a different order, or repeat the original request exactly",
            )
        elif intent.status is IntentStatus.CREATED:
            log.debug("create_once: %s already created, replaying the stored result", key)
            return CreateOutcome(
                key, dict(intent.result or {}), created_now=False, reconciled=intent.reconciled,
                replayed=True,
            )  # fmt: skip
        else:
            # An earlier call (maybe a crashed process) left it PENDING: it may have gone
            # through. Look before sending.
            in_doubt = True
            found = await _reconcile(key, ledger, lookup, check_tool, created_now=False)
            if found is not None:
                return found
    # Whether a request of this call may have reached the platform: if so, an order found later
    # is ours; if not (only an earlier call or another process could have sent it), it is not.
    ours_in_flight = False
    for _ in range(MAX_CREATE_ROUNDS):
        try:
            await ledger.note_attempt(key)
        except StateStoreUnavailable as error:
            # Only a look-up can tell whether an earlier request for the key went through.
            if in_doubt:
                raise _unknown(key, check_tool, error) from error
            raise error.nothing_sent() from error
        try:
            result = await create()
        except StateStoreUnavailable as error:
            # The client's store steps (its rate-limit token) precede this request, not earlier ones.
            if in_doubt:
                raise _unknown(key, check_tool, error) from error
            raise
        except AmbiguousError:
            log.debug("create_once: ambiguous failure for %s, reconciling", key)
            ours_in_flight = not in_doubt
            in_doubt = True
            found = await _reconcile(key, ledger, lookup, check_tool, created_now=ours_in_flight)
            if found is not None:
                return found
            continue  # the lookup says it does not exist: resend under the same key
        except Conflict as error:
            if error.code != DUPLICATE_CREATE_CODE:
                await _fail_if_certain(ledger, key, error, in_doubt)
                raise
            found = await _reconcile(key, ledger, lookup, check_tool, created_now=ours_in_flight)
            if found is not None:
                return found
            raise _unknown(key, check_tool, error) from error
        except CommerceError as error:
            await _fail_if_certain(ledger, key, error, in_doubt)
            raise
        await _record_created(ledger, key, result)
        return CreateOutcome(key, result, created_now=True)
    raise _unknown(key, check_tool, None)


async def _record_created(
    ledger: IntentLedger, key: str, result: dict[str, Any], *, reconciled: bool = False
) -> None:
    """Mark the intent created; if the store is down, the object exists all the same.

    Reporting the outage instead would tell the caller a created order failed. The intent stays
    PENDING, so the next call for this key looks the order up and answers "already created".
    """
    try:
        await ledger.mark_created(key, result, reconciled=reconciled)
    except StateStoreUnavailable as exc:
        log.warning("create_once: %s was created but could not be recorded: %s", key, exc.message)


async def _restart(ledger: IntentLedger, intent: Intent, digest: str) -> Intent:
    try:
        return await ledger.restart(intent, digest)
    except IntentConflict as error:
        raise Conflict(
            f"another request for the id {intent.key!r} is in progress",
            hint="wait a moment and check the order before trying again",
        ) from error


async def _fail_if_certain(
    ledger: IntentLedger, key: str, error: CommerceError, in_doubt: bool
) -> None:
    # After any doubt in this call, a later clean rejection says nothing about the earlier request.
    if not in_doubt and _definitely_not_created(error):
        try:
            await ledger.mark_failed(key, error.describe())
        except StateStoreUnavailable as exc:
            # The platform's refusal is the answer; left PENDING, the next call looks it up first.
            log.warning("create_once: %s refused, refusal not recorded: %s", key, exc.message)


async def _reconcile(
    key: str,
    ledger: IntentLedger,
    lookup: Callable[[], Awaitable[dict[str, Any] | None]],
    check_tool: str,
    *,
    created_now: bool,
) -> CreateOutcome | None:
    """The outcome if ``key`` exists, None if not; OutcomeUnknown if the lookup fails."""
    try:
        found = await lookup()
    except Exception as error:
        raise _unknown(key, check_tool, error) from error
    if found is None:
        return None
    await _record_created(ledger, key, found, reconciled=True)
    log.debug("create_once: %s found on reconcile", key)
    return CreateOutcome(key, found, created_now=created_now, reconciled=True)


def _unknown(key: str, check_tool: str, cause: BaseException | None) -> OutcomeUnknown:
    platform = cause.platform if isinstance(cause, CommerceError) else "commerce-mcp"
    request_id = cause.request_id if isinstance(cause, CommerceError) else None
    return OutcomeUnknown(
        f"could not confirm whether the create request for {key!r} went through",
        reference=key,
        platform=platform,
        request_id=request_id,
        hint=(
            f"do not resubmit with a new id; check it with {check_tool} using {key!r}, "
            "or repeat this exact request later (it checks before sending)"
        ),
    )
