"""The sending half of the demo adapter: EmitBatch, EmitStream (2-3 messages) or single
Emit calls, and SubmitFeedback, each with a 10 s deadline. UNAVAILABLE, DEADLINE_EXCEEDED
and RESOURCE_EXHAUSTED are retried with the same event ids (the server dedups) after a
jittered backoff doubling up to 5 s; other errors count the events as rejected, except
UNAUTHENTICATED and PERMISSION_DENIED, which raise (a wrong key is a setup bug). Events
abandoned during a backoff when the run stops count as dropped."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import grpc

from vigil_protos.v1 import events_pb2, ingest_pb2, ingest_pb2_grpc

_T = TypeVar("_T")
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
_FATAL = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
_CALL_TIMEOUT_S = 10.0
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.2, 5.0


class DemoLogger(Protocol):
    """What run_demo needs of a logger (a logging.Logger or a structlog logger)."""

    def info(self, msg: str, /) -> object: ...

    def warning(self, msg: str, /) -> object: ...


@dataclass(slots=True)
class DemoStats:
    """Counts of one run. ``sent`` counts each event once, however often it was retried."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    retried: int = 0  # messages (events and feedback) re-sent after a transient error
    dropped: int = 0  # events abandoned in a backoff when the run stopped
    feedback_sent: int = 0
    feedback_accepted: int = 0
    feedback_rejected: int = 0


@dataclass(slots=True)
class Halt:
    stop: asyncio.Event
    deadline: float | None  # time.monotonic() value

    def is_set(self) -> bool:
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True when the run should stop."""
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, seconds))
        return self.is_set()


def _split(
    events: Sequence[events_pb2.TraceEvent], parts: int
) -> list[list[events_pb2.TraceEvent]]:
    size = math.ceil(len(events) / max(1, min(parts, len(events))))
    return [list(events[i : i + size]) for i in range(0, len(events), size)]


@dataclass(slots=True)
class Sender:
    stub: ingest_pb2_grpc.IngestServiceStub
    metadata: tuple[tuple[str, str], ...]
    stats: DemoStats
    halt: Halt
    log: DemoLogger
    rng: random.Random

    async def retrying(self, call: Callable[[], Awaitable[_T]], n: int) -> _T | None:
        """Run ``call`` until it succeeds; None when the run stopped during a backoff."""
        delay = _BACKOFF_FIRST_S
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as err:
                if err.code() not in _TRANSIENT:
                    raise
                self.log.warning(f"demo: {err.code().name}, retrying {n} in {delay:.1f}s")
            if await self.halt.sleep(delay * self.rng.uniform(0.8, 1.2)):
                return None
            self.stats.retried += n
            delay = min(delay * 2, _BACKOFF_MAX_S)

    def permanent(self, err: grpc.aio.AioRpcError, what: str) -> None:
        if err.code() in _FATAL:
            raise err
        self.log.warning(f"demo: {what} rejected: {err.code().name} {err.details()}")

    def record(self, response: ingest_pb2.EmitBatchResponse | None, n: int) -> None:
        if response is None:
            self.stats.dropped += n
            return
        self.stats.accepted += response.accepted
        self.stats.rejected += response.rejected
        bad = next((r for r in response.results if r.code != 0), None)
        if bad is not None:
            self.log.warning(f"demo: {response.rejected} rejected, e.g. {bad.field}: {bad.reason}")

    async def send_events(self, events: list[events_pb2.TraceEvent], mode: str) -> None:
        self.stats.sent += len(events)
        if mode == "emit":
            for i, event in enumerate(events):
                if self.halt.is_set():
                    self.stats.dropped += len(events) - i
                    return
                await self.emit_one(event)
            return
        try:
            send = self.emit_stream if mode == "stream" else self.emit_batch
            self.record(await send(events), len(events))
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"{mode} of {len(events)} events")
            self.stats.rejected += len(events)

    async def emit_batch(
        self, events: list[events_pb2.TraceEvent]
    ) -> ingest_pb2.EmitBatchResponse | None:
        request = ingest_pb2.EmitBatchRequest(events=events)
        return await self.retrying(
            lambda: self.stub.EmitBatch(request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S),
            len(events),
        )

    async def emit_stream(
        self, events: list[events_pb2.TraceEvent]
    ) -> ingest_pb2.EmitBatchResponse | None:
        chunks = [
            ingest_pb2.EmitBatchRequest(events=c) for c in _split(events, self.rng.randint(2, 3))
        ]
        return await self.retrying(
            lambda: self.stub.EmitStream(
                iter(chunks), metadata=self.metadata, timeout=_CALL_TIMEOUT_S
            ),
            len(events),
        )

    async def emit_one(self, event: events_pb2.TraceEvent) -> None:
        request = ingest_pb2.EmitRequest(event=event)
        try:
            response = await self.retrying(
                lambda: self.stub.Emit(request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S), 1
            )
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"event {event.event_id}")
            self.stats.rejected += 1
            return
        if response is None:
            self.stats.dropped += 1
        else:
            self.stats.accepted += 1

    async def send_feedback(self, feedback: events_pb2.FeedbackEvent) -> None:
        self.stats.feedback_sent += 1
        request = ingest_pb2.SubmitFeedbackRequest(feedback=feedback)
        try:
            response = await self.retrying(
                lambda: self.stub.SubmitFeedback(
                    request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S
                ),
                1,
            )
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"feedback for trace {feedback.trace_id}")
            self.stats.feedback_rejected += 1
            return
        if response is not None:
            self.stats.feedback_accepted += 1
