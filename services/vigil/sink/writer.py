"""The sink adapter: Kafka -> batches -> ClickHouse -> commit.

Tables: traces (enriched traces topic), scores and judge_sampling (the judge's
topics), feedback (feedback topic).

Every record must carry a Vigil signature (vigil.kafka.signing): an unsigned or
forged one is dead-lettered with the reason and never stored, like an unreadable one.

At-least-once from Kafka, exactly-once in the store: a batch is written, then
its offsets are committed. If the process dies in between, the batch is read
again and the rows already stored are recognised by id (`event_id`,
`feedback_id`) and skipped, so no query ever sees a row twice; the same check
absorbs a replay by enrich and a client's retry with the same event id. Each
insert also carries a deduplication token from its partition/offset ranges,
so a retried insert is not applied twice. A store outage pauses the
partitions and retries with backoff (backpressure), never dropping.

The write itself (dedup, then insert) is a `StoreWriter`: local on a store this
process opened, or remote through the store owner's read API when several
sinks share the embedded store (vigil.store.writer); a refusing or
unreachable owner counts as a store outage.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from vigil.events.wire import decode_enriched_batch, decode_feedback
from vigil.kafka import topics as t
from vigil.kafka.poison import Poison, process
from vigil.kafka.signing import check, internal_secret
from vigil.logs import get_logger
from vigil.metrics import (
    DEAD_LETTERS,
    SINK_DUPLICATES,
    SINK_INSERT_SECONDS,
    SINK_RETRIES,
    SINK_ROWS,
)
from vigil.settings import Settings
from vigil.store.tables import (
    ALERTS,
    DRIFT_REPORT_HTML,
    DRIFT_REPORTS,
    FEEDBACK,
    JUDGE_SAMPLING,
    SCORES,
    SPANS,
    TICKETS,
    TRACES,
    Line,
    TableSpec,
    feedback_line,
    table_line,
)
from vigil.store.writer import StoreWriter

log = get_logger(__name__)
STAGE = "sink"


@dataclass(slots=True)
class Batch:
    lines: dict[str, list[Line]] = field(default_factory=dict)  # table -> JSON lines
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    started: float = 0.0

    def __len__(self) -> int:
        return sum(map(len, self.lines.values()))

    def token(self) -> str:
        ranges = ",".join(f"{tp.topic}:{tp.partition}:{self.first_offsets[tp]}-{end}"
                          for tp, end in sorted(self.next_offsets.items()))
        return hashlib.sha256(ranges.encode()).hexdigest()


class _Revocations(ConsumerRebalanceListener):
    def __init__(self, sink: TraceSink) -> None:
        self._sink = sink

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._sink.drop_batch("partitions revoked")

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned", stage=STAGE,
                 partitions=sorted(f"{p.topic}:{p.partition}" for p in assigned))


class TraceSink:
    def __init__(self, settings: Settings, writer: StoreWriter) -> None:
        self._settings = settings
        self._writer = writer
        self._secret = internal_secret(settings)
        self._topics = t.Topics.from_settings(settings)
        self._specs = {self._topics.traces_enriched: TRACES, self._topics.judge_scores: SCORES,
                       self._topics.judge_sampling: JUDGE_SAMPLING, self._topics.spans: SPANS,
                       self._topics.alerts: ALERTS, self._topics.tickets: TICKETS,
                       self._topics.drift_reports: DRIFT_REPORTS,
                       self._topics.drift_report_html: DRIFT_REPORT_HTML}
        self._batch = Batch()
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None

    def drop_batch(self, why: str) -> None:
        """Forget the unwritten batch and rewind its partitions to where it began.

        A rebalance keeps the fetch position of the partitions this consumer keeps,
        so without the rewind their part of the batch would never be read again."""
        batch, self._batch = self._batch, Batch()
        if not batch.first_offsets or self._consumer is None:
            return
        owned = self._consumer.assignment()
        for tp, first in batch.first_offsets.items():
            if tp in owned:
                self._consumer.seek(tp, first)
        log.info("batch dropped, it will be read again", stage=STAGE, why=why,
                 rows=len(batch))

    def run(self, stop: threading.Event) -> None:
        self.open()
        try:
            while not stop.is_set():
                self.step(stop)
            if self._batch:
                self._flush(stop)
        finally:
            self.close()

    def open(self) -> None:
        servers = self._settings.kafka_bootstrap_servers.split(",")
        self._consumer = KafkaConsumer(
            bootstrap_servers=servers, group_id=self._settings.group("sink"),
            client_id="vigil-sink",
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
        )
        self._producer = KafkaProducer(bootstrap_servers=servers, acks="all",
                                       client_id="vigil-sink-dlq")
        topics = [*self._specs, self._topics.feedback]
        self._consumer.subscribe(topics, listener=_Revocations(self))
        log.info("sink consuming", topics=topics)

    def step(self, stop: threading.Event) -> None:
        """Poll once; write and commit the batch when it is full or old enough."""
        assert self._consumer is not None
        polled = self._consumer.poll(timeout_ms=100, max_records=2000)
        for tp, messages in polled.items():
            for message in messages:
                self._add(tp, message)
        if self._batch and self._due():
            self._flush(stop)

    def close(self) -> None:
        """Leave the group without committing anything not yet written."""
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
        if self._producer is not None:
            self._producer.close(timeout=5)
        log.info("sink stopped")

    def _due(self) -> bool:
        return (len(self._batch) >= self._settings.sink_batch_rows
                or time.monotonic() - self._batch.started >= self._settings.sink_batch_seconds)

    def _add(self, tp: TopicPartition, message: Any) -> None:
        batch = self._batch
        if not batch:
            batch.started = time.monotonic()
        batch.first_offsets.setdefault(tp, message.offset)
        batch.next_offsets[tp] = message.offset + 1
        outcome = process(lambda: self._lines(tp, message), STAGE)
        if isinstance(outcome, Poison):
            self._dead_letter(tp, message, outcome.reason)
            return
        spec, lines = outcome
        batch.lines.setdefault(spec.name, []).extend(lines)

    def _lines(self, tp: TopicPartition, message: Any) -> tuple[TableSpec, list[Line]]:
        """The rows of one record (pure; raises on a record that cannot be stored)."""
        check(self._secret, message.headers, message.value)
        if tp.topic == self._topics.feedback:
            return FEEDBACK, [feedback_line(decode_feedback(message.value), tp.partition,
                                            message.offset)]
        spec = self._specs[tp.topic]
        return spec, [table_line(spec, line, r) for line, r in decode_enriched_batch(message.value)]

    def _dead_letter(self, tp: TopicPartition, message: Any, reason: str) -> None:
        log.warning("dead-lettered", stage=STAGE, topic=tp.topic, partition=tp.partition,
                    offset=message.offset, reason=reason)
        headers = [(t.H_REASON, reason.encode()), (t.H_STAGE, STAGE.encode()),
                   (t.H_SOURCE_TOPIC, tp.topic.encode()),
                   (t.H_SOURCE_PARTITION, str(tp.partition).encode()),
                   (t.H_SOURCE_OFFSET, str(message.offset).encode())]
        assert self._producer is not None
        self._producer.send(t.dlq(tp.topic), value=message.value or b"",
                            key=message.key, headers=headers).get(timeout=30)
        DEAD_LETTERS.labels(STAGE, tp.topic).inc()

    def _flush(self, stop: threading.Event) -> None:
        batch, delay = self._batch, 0.2
        assert self._consumer is not None
        while True:
            try:
                self._write(batch)
                break
            except Exception as exc:  # the store is down or refused: hold the offsets, retry
                SINK_RETRIES.inc()
                log.warning("store write failed, retrying", stage=STAGE, error=str(exc)[:500],
                            retry_in_s=delay, rows=len(batch))
                paused = list(self._consumer.assignment())
                self._consumer.pause(*paused)
                self._consumer.poll(timeout_ms=int(delay * 1000))  # keeps the group membership
                self._consumer.resume(*paused)
                if self._batch is not batch:  # revoked while we waited: the new owner writes it
                    return
                delay = min(delay * 2, 10.0)
        self._commit(batch)
        self._batch = Batch()

    def _commit(self, batch: Batch) -> None:
        assert self._consumer is not None
        self._consumer.commit({tp: OffsetAndMetadata(off, None, -1)
                               for tp, off in batch.next_offsets.items()})

    def _write(self, batch: Batch) -> None:
        token = batch.token()
        for spec in [*self._specs.values(), FEEDBACK]:
            if lines := batch.lines.get(spec.name):
                self._write_table(spec, lines, token)

    def _write_table(self, spec: TableSpec, lines: list[Line], token: str) -> None:
        started = time.perf_counter()
        result = self._writer.write(spec, lines, token)
        if result.skipped:
            SINK_DUPLICATES.labels(spec.name).inc(result.skipped)
            log.info("already stored rows skipped", stage=STAGE, table=spec.name,
                     skipped=result.skipped, written=result.written)
        SINK_ROWS.labels(spec.name).inc(result.written)
        SINK_INSERT_SECONDS.labels(spec.name).observe(time.perf_counter() - started)
