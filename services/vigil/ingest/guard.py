"""Who may call ingest, and how much: the key check, the per-key rate limit and the
overload refusal shared by the gRPC IngestService and the OTLP/gRPC TraceService."""

from __future__ import annotations

import grpc

from vigil.access.keyring import Caller, KeyRing
from vigil.access.ratelimit import RateLimiter, Refusal
from vigil.ingest.admission import Overloaded
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_EVENTS

log = get_logger(__name__)


async def authenticate(keyring: KeyRing, context: grpc.aio.ServicerContext) -> Caller:
    """The caller of the call's key; aborts UNAUTHENTICATED without a known, live key."""
    caller = keyring.caller_for_metadata(context.invocation_metadata() or ())
    if caller is None:
        await context.abort(
            grpc.StatusCode.UNAUTHENTICATED,
            "missing or unknown API key (or revoked): send metadata 'authorization: Bearer <key>'",
        )
    assert caller is not None
    return caller


async def admit(limiter: RateLimiter, context: grpc.aio.ServicerContext, caller: Caller,
                events: int) -> None:
    """Take `events` from the caller's rate limit; aborts RESOURCE_EXHAUSTED over it."""
    if refusal := limiter.take(caller.digest, events):
        await abort_rate_limited(context, caller, refusal)


async def abort_rate_limited(context: grpc.aio.ServicerContext, caller: Caller,
                             refusal: Refusal) -> None:
    note_rate_limited(caller, refusal)
    context.set_trailing_metadata(
        (("vigil-retry-after-ms", str(int(refusal.retry_after_s * 1000) + 1)),))
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(refusal))


def note_rate_limited(caller: Caller, refusal: Refusal) -> None:
    INGEST_EVENTS.labels("rate_limited").inc()
    log.info("rate limited", key_id=caller.key_id, project=caller.project,
             retry_after_s=round(refusal.retry_after_s, 3))


async def abort_overloaded(context: grpc.aio.ServicerContext, refusal: Overloaded) -> None:
    """RESOURCE_EXHAUSTED: too many events wait for Kafka; the client backs off."""
    INGEST_EVENTS.labels("overloaded").inc()
    log.warning("overloaded", pending=refusal.pending, limit=refusal.limit)
    context.set_trailing_metadata(
        (("vigil-retry-after-ms", str(int(refusal.retry_after_s * 1000))),))
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(refusal))
