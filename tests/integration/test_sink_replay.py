"""The sink in-process on the real broker and the embedded store: a crash between the
insert and the offset commit, replays, and unreadable records."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.conftest import INTERNAL_TOKEN, Broker, wait_until
from tests.support.factories import valid_event
from vigil.core.prices import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import encode_enriched_batch
from vigil.kafka import topics as t
from vigil.kafka.signing import sign
from vigil.settings import Settings
from vigil.sink.worker import Batch, TraceSink
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate
from vigil.store.writer import LocalStoreWriter
from vigil_protos.v1 import events_pb2 as pb

pytestmark = pytest.mark.integration
SIGNING_KEY = INTERNAL_TOKEN.encode()


class CrashBeforeCommit(TraceSink):
    """Writes batches but dies before committing their offsets."""

    def _commit(self, batch: Batch) -> None:
        raise SystemExit("simulated crash after the insert, before the commit")


def _settings(broker: Broker, store_dir: Path) -> Settings:
    return Settings(kafka_bootstrap_servers=broker.bootstrap, data_dir=store_dir,
                    clickhouse_database=f"t_{uuid.uuid4().hex[:8]}",
                    topic_prefix=f"r{uuid.uuid4().hex[:8]}.", kafka_session_timeout_ms=2000,
                    kafka_heartbeat_interval_ms=500, sink_batch_rows=100_000,
                    sink_batch_seconds=0.3, internal_token=INTERNAL_TOKEN)  # type: ignore[arg-type]


def _produce_enriched(settings: Settings, batches: int, per_batch: int) -> list[str]:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    config = EnrichConfig(PriceBook())
    ids = []
    for b in range(batches):
        raw = pb.TraceBatch(project_id="p", events=[valid_event(b * per_batch + i)
                                                     for i in range(per_batch)])
        raw.received_at.GetCurrentTime()
        ids.extend(e.event_id for e in raw.events)
        outcome = enrich_record(raw.SerializeToString(), b % 4, b, config)
        value = encode_enriched_batch(outcome.records)  # signed, as enrich writes it
        producer.send(settings.topic("traces.enriched"), value, partition=b % 4,
                      headers=[sign(SIGNING_KEY, value)]).get(30)
    producer.close()
    return ids


def _count(store: Store) -> tuple[int, int]:
    row = store.query("SELECT count(), uniqExact(event_id) FROM traces").result_rows[0]
    return int(row[0]), int(row[1])


def _sink(settings: Settings, store: Store) -> TraceSink:
    return TraceSink(settings, LocalStoreWriter(store))


def _run_until(sink: TraceSink, done: threading.Event) -> None:
    sink.open()
    try:
        while not done.is_set():
            sink.step(done)
    finally:
        sink.close()


def test_a_crash_between_insert_and_commit_stores_nothing_twice(broker: Broker,
                                                               store_dir: Path) -> None:
    settings = _settings(broker, store_dir)
    t.ensure_topics(settings)
    store = open_store(settings)
    migrate(store, settings.retention_days)
    ids = _produce_enriched(settings, batches=8, per_batch=50)

    crashing = CrashBeforeCommit(settings, LocalStoreWriter(store))
    with pytest.raises(SystemExit):
        _run_until(crashing, threading.Event())
    written_before_crash = _count(store)[0]
    assert written_before_crash > 0  # the crash came after a real insert
    # more records, so the replayed batch differs from the crashed one: its insert token
    # differs too, and only the sink's own id check can keep the rows single
    ids += _produce_enriched(settings, batches=3, per_batch=50)

    done = threading.Event()
    worker = threading.Thread(target=_run_until, args=(_sink(settings, store), done))
    worker.start()
    try:
        wait_until(lambda: _count(store)[0] >= len(ids), 60, "every event stored")
    finally:
        done.set()
        worker.join(30)
    assert _count(store) == (len(ids), len(ids))


def test_an_unreadable_enriched_record_goes_to_the_dead_letter_topic(
        broker: Broker, store_dir: Path) -> None:
    settings = _settings(broker, store_dir)
    t.ensure_topics(settings)
    store = open_store(settings)
    migrate(store, settings.retention_days)
    enriched = settings.topic("traces.enriched")
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    producer.send(enriched, b"\x00 not json", partition=1,
                  headers=[sign(SIGNING_KEY, b"\x00 not json")]).get(30)
    producer.close()
    ids = _produce_enriched(settings, batches=2, per_batch=10)

    done = threading.Event()
    worker = threading.Thread(target=_run_until, args=(_sink(settings, store), done))
    worker.start()
    try:
        wait_until(lambda: _count(store)[0] >= len(ids), 60, "the good records stored")
    finally:
        done.set()
        worker.join(30)
    assert _count(store) == (len(ids), len(ids))

    consumer = KafkaConsumer(t.dlq(enriched), bootstrap_servers=settings.kafka_bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    dead = next(iter(consumer))
    consumer.close()
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"\x00 not json"
    assert "not JSON" in headers[t.H_REASON]
    assert headers[t.H_SOURCE_TOPIC] == enriched
    assert headers[t.H_SOURCE_PARTITION] == "1" and headers[t.H_SOURCE_OFFSET] == "0"


def test_a_rebalance_while_a_batch_is_pending_loses_nothing(broker: Broker,
                                                            store_dir: Path) -> None:
    settings = _settings(broker, store_dir).model_copy(update={"sink_batch_seconds": 8.0})
    t.ensure_topics(settings)
    store = open_store(settings)
    migrate(store, settings.retention_days)
    ids = _produce_enriched(settings, batches=8, per_batch=25)

    first = TraceSink(settings, LocalStoreWriter(store))
    done = threading.Event()
    worker = threading.Thread(target=_run_until, args=(first, done))
    worker.start()
    try:
        # the first sink holds an unwritten batch (it flushes only after 8 s) ...
        wait_until(lambda: len(first._batch) == len(ids), 60, "a pending batch")
        # ... when a second sink joins: the first keeps some partitions, loses others
        second = TraceSink(settings.model_copy(update={"sink_batch_seconds": 0.2}),
                           LocalStoreWriter(store))
        joiner = threading.Thread(target=_run_until, args=(second, done))
        joiner.start()
        wait_until(lambda: _count(store)[0] >= len(ids), 90, "every event stored")
    finally:
        done.set()
        worker.join(30)
        joiner.join(30)
    assert _count(store) == (len(ids), len(ids))
