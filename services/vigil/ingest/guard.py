"""Who may call ingest, and how much: the key check, the per-key rate limit and the
overload refusal shared by the gRPC IngestService and the OTLP/gRPC services.

A refusal the client should retry says when, the ways clients read it: a
`google.rpc.RetryInfo` as `google.rpc.retryinfo-bin` (the OpenTelemetry Python
exporters) and inside the `grpc-status-details-bin` google.rpc.Status (the Collector
and the Go/Java exporters), and Vigil's own `vigil-retry-after-ms`."""

from __future__ import annotations

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from vigil.access.keyring import Caller, KeyRing
from vigil.access.ratelimit import RateLimiter, Refusal
from vigil.ingest.admission import Overloaded
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_EVENTS

log = get_logger(__name__)
KAFKA_RETRY_AFTER_S = 1.0  # Kafka did not confirm: a short wait, as for HTTP's Retry-After: 1


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
    await abort_retry_after(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(refusal),
                            refusal.retry_after_s + 0.001)


def note_rate_limited(caller: Caller, refusal: Refusal) -> None:
    INGEST_EVENTS.labels("rate_limited").inc()
    log.info("rate limited", key_id=caller.key_id, project=caller.project,
             retry_after_s=round(refusal.retry_after_s, 3))


async def abort_overloaded(context: grpc.aio.ServicerContext, refusal: Overloaded) -> None:
    """RESOURCE_EXHAUSTED: too many events wait for Kafka; the client backs off."""
    INGEST_EVENTS.labels("overloaded").inc()
    log.warning("overloaded", pending=refusal.pending, limit=refusal.limit)
    await abort_retry_after(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(refusal),
                            refusal.retry_after_s)


def retry_metadata(code: grpc.StatusCode, message: str, retry_after_s: float
                   ) -> tuple[tuple[str, str | bytes], ...]:
    """Trailing metadata that says when to retry, each way clients read it."""
    delay = Duration()
    delay.FromNanoseconds(max(0, int(retry_after_s * 1e9)))
    info = RetryInfo(retry_delay=delay)
    detail = AnyProto()
    detail.Pack(info)
    status = Status(code=code.value[0], message=message, details=[detail])
    return (("google.rpc.retryinfo-bin", info.SerializeToString()),
            ("grpc-status-details-bin", status.SerializeToString()),
            ("vigil-retry-after-ms", str(int(retry_after_s * 1000))))


async def abort_retry_after(context: grpc.aio.ServicerContext, code: grpc.StatusCode,
                            message: str, retry_after_s: float) -> None:
    """Abort with `code`, saying to retry after `retry_after_s` seconds."""
    context.set_trailing_metadata(retry_metadata(code, message, retry_after_s))
    await context.abort(code, message)
