"""The sink adapter: Kafka -> batches -> ClickHouse -> commit.

Tables: traces (enriched traces topic), scores and judge_sampling (the judge's
topics), feedback (feedback topic).

At-least-once from Kafka, exactly-once in the store: a batch is written, then
its offsets are committed. If the process dies in between, the batch is read
again and the rows already stored are recognised by id (`event_id`,
`feedback_id`) and skipped, so no query ever sees a row twice; the same check
absorbs a replay by enrich and a client's retry with the same event id. Each
insert also carries a deduplication token from its partition/offset ranges,
so a retried insert is not applied twice. A store outage pauses the
partitions and retries with backoff (backpressure), never dropping.
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

from vigil.events.wire import PayloadError, decode_enriched_batch, decode_feedback
from vigil.kafka import topics as t
from vigil.logs import get_logger
from vigil.metrics import (
    DEAD_LETTERS,
    SINK_DUPLICATES,
    SINK_INSERT_SECONDS,
    SINK_RETRIES,
    SINK_ROWS,
)
from vigil.settings import Settings
from vigil.sink.rows import (
    ALERTS,
    DRIFT_REPORT_HTML,
    DRIFT_REPORTS,
    FEEDBACK_COLUMNS,
    JUDGE_SAMPLING,
    SCORES,
    SPANS,
    TICKETS,
    TRACES,
    Line,
    TableSpec,
    feedback_row,
    first_occurrences,
    table_line,
)
from vigil.store.client import Store

log = get_logger(__name__)
STAGE = "sink"
_FEEDBACK_ID = FEEDBACK_COLUMNS.index("feedback_id")
_FEEDBACK_TIME = FEEDBACK_COLUMNS.index("time")


@dataclass(slots=True)
class Batch:
    lines: dict[str, list[Line]] = field(default_factory=dict)  # table -> JSON lines
    feedback: list[list[Any]] = field(default_factory=list)
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    started: float = 0.0

    def __len__(self) -> int:
        return sum(map(len, self.lines.values())) + len(self.feedback)

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
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
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
        try:
            if tp.topic == self._topics.feedback:
                batch.feedback.append(
                    feedback_row(decode_feedback(message.value), tp.partition, message.offset))
            else:
                spec = self._specs[tp.topic]
                lines = [table_line(spec, line, r)
                         for line, r in decode_enriched_batch(message.value)]
                batch.lines.setdefault(spec.name, []).extend(lines)
        except PayloadError as exc:
            self._dead_letter(tp, message, str(exc))

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
        for spec in self._specs.values():
            self._write_lines(spec, batch.lines.get(spec.name, []), token)
        self._write_feedback(batch.feedback, token)

    def _write_lines(self, spec: TableSpec, lines: list[Line], token: str) -> None:
        if not lines:
            return
        started = time.perf_counter()
        unique = first_occurrences(lines, lambda x: x.id)
        stored = self._stored_ids(
            spec.name, spec.id_column, spec.time_column, {x.project_id for x in unique},
            min(x.time for x in unique), max(x.time for x in unique), [x.id for x in unique])
        fresh = [x for x in unique if x.id not in stored]
        self._count_skipped(spec.name, len(lines) - len(fresh), len(fresh))
        if fresh:
            self._store.insert_json_lines(
                spec.name, spec.columns, b"\n".join(x.line for x in fresh),
                settings={"insert_deduplication_token": f"{spec.name}:{token}"})
        SINK_ROWS.labels(spec.name).inc(len(fresh))
        SINK_INSERT_SECONDS.labels(spec.name).observe(time.perf_counter() - started)

    def _write_feedback(self, rows: list[list[Any]], token: str) -> None:
        if not rows:
            return
        unique = first_occurrences(rows, lambda r: r[_FEEDBACK_ID])
        times = [r[_FEEDBACK_TIME].isoformat() for r in unique]
        stored = self._stored_ids("feedback", "feedback_id", "time", {r[0] for r in unique},
                                  min(times), max(times), [r[_FEEDBACK_ID] for r in unique])
        fresh = [r for r in unique if r[_FEEDBACK_ID] not in stored]
        self._count_skipped("feedback", len(rows) - len(fresh), len(fresh))
        if fresh:
            self._store.insert("feedback", fresh, FEEDBACK_COLUMNS,
                               settings={"insert_deduplication_token": f"feedback:{token}"})
        SINK_ROWS.labels("feedback").inc(len(fresh))

    def _count_skipped(self, table: str, skipped: int, written: int) -> None:
        if skipped:
            SINK_DUPLICATES.labels(table).inc(skipped)
            log.info("already stored rows skipped", stage=STAGE, table=table, skipped=skipped,
                     written=written)

    def _stored_ids(self, table: str, id_column: str, time_column: str, projects: set[str],
                    earliest: str, latest: str, ids: list[str]) -> set[str]:
        """The ids the table holds already, looked up by project and time range first."""
        result = self._store.query(
            f"SELECT {id_column} FROM {table} WHERE project_id IN {{p:Array(String)}} "
            f"AND {time_column} BETWEEN parseDateTime64BestEffort({{lo:String}}, 3) "
            f"AND parseDateTime64BestEffort({{hi:String}}, 3) "
            f"AND {id_column} IN {{ids:Array(String)}}",
            {"p": sorted(projects), "lo": earliest, "hi": latest, "ids": ids},
        )
        return {row[0] for row in result.result_rows}
