"""Writes accepted events to Kafka, batched into records, and reports when Kafka confirmed.

Events from every concurrent call are gathered per (project, partition) into
one `TraceBatch` record, flushed when full or after a short linger; the
partition is the one Kafka's default partitioner gives the trace id, so a
trace stays in one partition. A caller's `publish` returns only once every
record holding its events is acknowledged by the broker (acks=all), and
raises `KafkaUnavailable` when that does not happen within the ack timeout. Every
record is signed with the internal secret (vigil.kafka.signing): the stages downstream
take only signed records, so only ingest decides which project an event belongs to.
Events wait for Kafka in memory only up to `ingest_max_pending_events`: past
it `publish` raises `IngestOverloaded` before buffering anything.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from google.protobuf.timestamp_pb2 import Timestamp

from vigil.ingest.admission import Admission, Overloaded
from vigil.kafka.producer import json_line_records
from vigil.kafka.signing import internal_secret, sign
from vigil.kafka.topics import Topics, ensure_topics, partition_for
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_PENDING_EVENTS
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb

log = get_logger(__name__)


class KafkaUnavailable(Exception):
    """Kafka did not confirm a write in time; the sender should retry."""


class IngestOverloaded(Exception):
    """Too many events wait for Kafka already; the sender should back off and retry."""

    def __init__(self, refusal: Overloaded) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


@dataclass(slots=True)
class _Pending:
    events: list[pb.TraceEvent] = field(default_factory=list)
    size: int = 0
    acked: asyncio.Future[None] | None = None
    timer: asyncio.TimerHandle | None = None


class TracePublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topics = Topics.from_settings(settings)
        self._secret = internal_secret(settings)
        self._producer: AIOKafkaProducer | None = None
        self._partitions = 0
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._connect_lock = asyncio.Lock()
        self._max_events = settings.record_max_events
        self._max_bytes = 900_000
        self._linger_s = settings.record_linger_ms / 1000
        self.admission = Admission(settings.ingest_max_pending_events)

    @property
    def connected(self) -> bool:
        return self._producer is not None and self._partitions > 0

    async def connect(self) -> None:
        """Start the producer and learn the partitions; idempotent, raises KafkaUnavailable."""
        async with self._connect_lock:
            if self.connected:
                return
            try:
                await _in_daemon_thread(ensure_topics, self._settings, self._settings.ack_timeout_s)
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._settings.kafka_bootstrap_servers,
                    client_id="vigil-ingest",
                    acks="all",
                    linger_ms=0,
                    max_request_size=2 * 1024 * 1024,
                    request_timeout_ms=int(self._settings.ack_timeout_s * 1000),
                    retry_backoff_ms=100,
                )
                await producer.start()
            except Exception as exc:
                raise KafkaUnavailable(f"Kafka is not reachable: {exc}") from exc
            partitions = await producer.partitions_for(self._topics.traces_raw)
            self._producer, self._partitions = producer, len(partitions)
            log.info("connected to kafka", partitions=self._partitions)

    async def _reset(self) -> None:
        producer, self._producer, self._partitions = self._producer, None, 0
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=2)
            except Exception as exc:  # the broker is gone; nothing else to release
                log.warning("producer stop failed", error=str(exc))

    async def publish(self, project_id: str, events: Sequence[pb.TraceEvent]) -> None:
        if not events:
            return
        deadline = time.monotonic() + self._settings.ack_timeout_s
        try:
            await asyncio.wait_for(self.connect(), timeout=self._settings.ack_timeout_s)
        except TimeoutError as exc:
            raise KafkaUnavailable("Kafka is not reachable") from exc
        # A failed send of another call may have reset the connection while this one was
        # resumed; from here to the last _add nothing awaits, so the check holds for them.
        if not self.connected:
            raise KafkaUnavailable("the Kafka connection was reset; retry with the same ids")
        if refusal := self.admission.take(len(events)):
            raise IngestOverloaded(refusal)
        INGEST_PENDING_EVENTS.set(self.admission.pending)
        acks = {self._add(project_id, event) for event in events}
        try:
            # shield: a record's future is shared with other callers; a timeout here
            # must not cancel it for them.
            await asyncio.wait_for(
                asyncio.gather(*(asyncio.shield(a) for a in acks)),
                timeout=max(0.0, deadline - time.monotonic()),
            )
        except TimeoutError as exc:
            raise KafkaUnavailable(
                f"Kafka did not confirm the write within {self._settings.ack_timeout_s} s"
            ) from exc

    def _add(self, project_id: str, event: pb.TraceEvent) -> asyncio.Future[None]:
        key = (project_id, partition_for(event.trace_id, self._partitions))
        pending = self._pending.get(key)
        size = event.ByteSize()
        if pending is not None and pending.size + size > self._max_bytes:
            self._flush(key)
            pending = None
        if pending is None:
            pending = self._pending[key] = _Pending()
            pending.timer = asyncio.get_running_loop().call_later(
                self._linger_s, self._flush, key
            )
            pending.acked = asyncio.get_running_loop().create_future()
        pending.events.append(event)
        pending.size += size
        acked = pending.acked
        assert acked is not None
        if len(pending.events) >= self._max_events:
            self._flush(key)
        return acked

    def _flush(self, key: tuple[str, int]) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._send(key, pending))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _send(self, key: tuple[str, int], pending: _Pending) -> None:
        project_id, partition = key
        received = Timestamp()
        received.GetCurrentTime()
        record = pb.TraceBatch(project_id=project_id, received_at=received, events=pending.events)
        try:
            if self._producer is None:
                raise KafkaUnavailable("Kafka connection was lost")
            value = record.SerializeToString()
            await self._producer.send_and_wait(
                self._topics.traces_raw, value, partition=partition,
                headers=[sign(self._secret, value)])
        except (KafkaError, KafkaUnavailable, OSError) as exc:
            log.warning("kafka write failed", error=str(exc), events=len(pending.events))
            await self._reset()
            _settle(pending.acked, KafkaUnavailable(f"Kafka write failed: {exc}"))
            return
        finally:  # Kafka answered (or the send was cancelled): the events are not held now
            self.admission.release(len(pending.events))
            INGEST_PENDING_EVENTS.set(self.admission.pending)
        _settle(pending.acked, None)

    async def publish_feedback(self, project_id: str, feedback: pb.FeedbackEvent) -> None:
        await asyncio.wait_for(self.connect(), timeout=self._settings.ack_timeout_s)
        received = Timestamp()
        received.GetCurrentTime()
        record = pb.FeedbackRecord(project_id=project_id, received_at=received, feedback=feedback)
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("Kafka connection was lost")
        value = record.SerializeToString()
        try:
            await asyncio.wait_for(
                producer.send_and_wait(
                    self._topics.feedback, value, key=feedback.trace_id.encode(),
                    headers=[sign(self._secret, value)],
                ),
                timeout=self._settings.ack_timeout_s,
            )
        except (TimeoutError, KafkaError, OSError) as exc:
            await self._reset()
            raise KafkaUnavailable(f"Kafka did not confirm the feedback write: {exc}") from exc

    async def publish_spans(self, rows: list[dict[str, Any]]) -> None:
        """Spans that are not LLM calls, as one JSON-lines record, confirmed by Kafka."""
        await self._publish_rows(self._topics.spans, rows, "spans")

    async def publish_call_logs(self, rows: list[dict[str, Any]]) -> None:
        """`call_logs` rows (messages sent as OTLP log records), confirmed by Kafka."""
        await self._publish_rows(self._topics.call_logs, rows, "call logs")

    async def publish_app_scores(self, rows: list[dict[str, Any]]) -> None:
        """`scores` rows an app sent (gen_ai.evaluation.result), on the scores topic beside
        the judge's, confirmed by Kafka."""
        await self._publish_rows(self._topics.judge_scores, rows, "app scores")

    async def _publish_rows(self, topic: str, rows: list[dict[str, Any]], what: str) -> None:
        """Rows as JSON-lines records keyed by the first row's trace id, confirmed by Kafka."""
        await asyncio.wait_for(self.connect(), timeout=self._settings.ack_timeout_s)
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("Kafka connection was lost")
        try:
            for record in json_line_records([orjson.dumps(r) for r in rows]):
                await asyncio.wait_for(
                    producer.send_and_wait(topic, record, key=rows[0]["trace_id"].encode(),
                                           headers=[sign(self._secret, record)]),
                    timeout=self._settings.ack_timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            await self._reset()
            raise KafkaUnavailable(f"Kafka did not confirm the {what} write: {exc}") from exc

    async def close(self) -> None:
        """Flush what is buffered, wait for it, stop the producer."""
        for key in list(self._pending):
            self._flush(key)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self._settings.ack_timeout_s)
        await self._reset()


async def _in_daemon_thread(fn: Callable[..., object], *args: object) -> object:
    """Run blocking `fn` in a daemon thread, so a hung call never holds up process exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[object] = loop.create_future()

    def call() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle_any, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle_any, done, result, None)

    threading.Thread(target=call, name="vigil-topics", daemon=True).start()
    return await done


def _settle_any(fut: asyncio.Future[object], result: object, error: BaseException | None
                ) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(result)
    else:
        fut.set_exception(error)


def _settle(acked: asyncio.Future[None] | None, error: Exception | None) -> None:
    if acked is None or acked.done():
        return
    if error is None:
        acked.set_result(None)
    else:
        acked.set_exception(error)
        acked.exception()  # marked retrieved: callers that timed out no longer listen
