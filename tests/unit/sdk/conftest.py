"""A fake collector for the SDK's unit tests: no network, full control over answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vigil_protos.v1 import events_pb2, ingest_pb2
from vigil_sdk import VigilClient
from vigil_sdk.transport import Answer


class FakeCollector:
    """Answers like ingest: per-event INVALID_ARGUMENT for an empty model, else OK.

    ``outcome`` forces an answer for every call ("transient", "unauthenticated", ...);
    ``gate``, when set, makes calls wait until it is opened; ``max_events`` answers
    ``too_large`` for bigger batches."""

    def __init__(self) -> None:
        self.batches: list[ingest_pb2.EmitBatchRequest] = []
        self.feedback: list[events_pb2.FeedbackEvent] = []
        self.outcome: str | None = None
        self.max_events: int | None = None
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.calls = 0
        self.closed = False

    @property
    def events(self) -> list[events_pb2.TraceEvent]:
        return [event for batch in self.batches for event in batch.events]

    def _wait(self) -> Answer | None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        return Answer(self.outcome) if self.outcome else None  # type: ignore[arg-type]

    def emit_batch(self, request: ingest_pb2.EmitBatchRequest) -> Answer:
        if forced := self._wait():
            return forced
        if self.max_events is not None and len(request.events) > self.max_events:
            return Answer("too_large", detail="larger than max")
        self.batches.append(request)
        results = [
            ingest_pb2.EventResult(index=i, event_id=e.event_id, code=3, field="model",
                                   reason="is required") if not e.model else
            ingest_pb2.EventResult(index=i, event_id=e.event_id)
            for i, e in enumerate(request.events)
        ]
        return Answer("ok", results)

    def submit_feedback(self, request: ingest_pb2.SubmitFeedbackRequest) -> Answer:
        if forced := self._wait():
            return forced
        self.feedback.append(request.feedback)
        return Answer("ok")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def collector() -> FakeCollector:
    return FakeCollector()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., VigilClient]]:
    """Clients on a fake collector with a spill dir in tmp_path; closed after the test."""
    made: list[tuple[VigilClient, FakeCollector]] = []

    def make(transport: FakeCollector, **settings: Any) -> VigilClient:
        settings.setdefault("spill_dir", tmp_path / "spill")
        settings.setdefault("flush_interval_s", 0.01)
        client = VigilClient("key", app="unit-app", transport=transport, **settings)
        made.append((client, transport))
        return client

    yield make
    for client, transport in made:
        if transport.gate is not None:
            transport.gate.set()
        client.close(2)
