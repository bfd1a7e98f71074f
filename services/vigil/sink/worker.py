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
so a retried insert is not applied twice.

The Kafka side (batching, commit after the write, backpressure, dead letters, the error
policy) is the one runner (vigil.kafka.runner): a store outage (`StoreUnavailable`)
pauses the partitions and retries with backoff, never dropping; a write that fails with
an error of unknown kind is tried VIGIL_KAFKA_MAX_ATTEMPTS times, then record by record,
and only the record that still fails is dead-lettered.

The write itself (dedup, then insert) is a `StoreWriter`: local on a store this
process opened, or remote through the store owner's read API when several
sinks share the embedded store (vigil.store.writer); a refusing or
unreachable owner counts as a store outage.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from kafka import TopicPartition

from vigil.events.wire import decode_enriched_batch, decode_feedback
from vigil.kafka import topics as t
from vigil.kafka.runner import Batch, BatchLimits, Runner
from vigil.kafka.signing import check, internal_secret
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import SINK_DUPLICATES, SINK_INSERT_SECONDS, SINK_RETRIES, SINK_ROWS
from vigil.settings import Settings
from vigil.store.tables import (
    ALERTS,
    CALL_LOGS,
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
Rows = tuple[TableSpec, list[Line]]
__all__ = ["Batch", "TraceSink"]


class TraceSink(Runner[Rows]):
    retry_message = "store write failed, retrying"

    def __init__(self, settings: Settings, writer: StoreWriter) -> None:
        topics = t.Topics.from_settings(settings)
        self._writer = writer
        self._secret = internal_secret(settings)
        self._feedback_topic = topics.feedback
        self._specs = {topics.traces_enriched: TRACES, topics.judge_scores: SCORES,
                       topics.judge_sampling: JUDGE_SAMPLING, topics.spans: SPANS,
                       topics.call_logs: CALL_LOGS,
                       topics.alerts: ALERTS, topics.tickets: TICKETS,
                       topics.drift_reports: DRIFT_REPORTS,
                       topics.drift_report_html: DRIFT_REPORT_HTML}
        super().__init__(
            settings, STAGE, [*self._specs, topics.feedback],
            BatchLimits(settings.sink_batch_rows, settings.sink_batch_seconds,
                        max_records=2000, poll_timeout_ms=100),
            max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)

    def decode(self, tp: TopicPartition, record: Any) -> Rows:
        """The rows of one record (pure; raises on a record that cannot be stored)."""
        check(self._secret, record.headers, record.value)
        if tp.topic == self._feedback_topic:
            return FEEDBACK, [feedback_line(decode_feedback(record.value), tp.partition,
                                            record.offset)]
        spec = self._specs[tp.topic]
        return spec, [table_line(spec, line, r) for line, r in decode_enriched_batch(record.value)]

    def size(self, item: Rows) -> int:
        return len(item[1])

    def write(self, batch: Batch[Rows]) -> None:
        token = hashlib.sha256(batch.token().encode()).hexdigest()
        tables: dict[str, list[Line]] = {}
        for entry in batch.entries:
            spec, lines = entry.item
            tables.setdefault(spec.name, []).extend(lines)
        for spec in [*self._specs.values(), FEEDBACK]:
            if lines := tables.get(spec.name):
                self._write_table(spec, lines, token)
        return None

    def retrying(self, exc: BaseException, attempt: int, after_s: float,
                 batch: Batch[Rows]) -> None:
        SINK_RETRIES.inc()

    def _write_table(self, spec: TableSpec, lines: list[Line], token: str) -> None:
        started = time.perf_counter()
        result = self._writer.write(spec, lines, token)
        if result.skipped:
            SINK_DUPLICATES.labels(spec.name).inc(result.skipped)
            log.info("already stored rows skipped", stage=STAGE, table=spec.name,
                     skipped=result.skipped, written=result.written)
        SINK_ROWS.labels(spec.name).inc(result.written)
        SINK_INSERT_SECONDS.labels(spec.name).observe(time.perf_counter() - started)
