"""The one Kafka runner on the real broker: a record whose write fails with an error of
unknown kind is tried VIGIL_KAFKA_MAX_ATTEMPTS times, then dead-lettered with its type
and message, and the records after it on the same partition are written (the partition
does not stop); an outage is waited out without a dead letter."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.conftest import INTERNAL_TOKEN, Broker, wait_until
from vigil.core.errors import StoreUnavailable
from vigil.kafka import topics as t
from vigil.kafka.runner import Batch, BatchLimits, Runner
from vigil.settings import Settings

pytestmark = pytest.mark.integration


class Corrupt(Exception):
    """Of no kind the policy knows."""


class Recorder(Runner[bytes]):
    """Writes record values to a list; a value b"poison" always fails, b"outage" fails as
    a store outage the first `outages` times."""

    def __init__(self, settings: Settings, topic: str, outages: int = 0) -> None:
        super().__init__(settings, "runner-test", [topic],
                         BatchLimits(max_size=100, max_wait_s=0.2))
        self.written: list[bytes] = []
        self.tries: Counter[bytes] = Counter()
        self.alone: Counter[bytes] = Counter()  # tries in a batch of its own
        self._outages = outages

    def decode(self, tp: TopicPartition, record: Any) -> bytes:
        return bytes(record.value)

    def write(self, batch: Batch[bytes]) -> None:
        values = [e.item for e in batch.entries]
        for value in values:
            self.tries[value] += 1
            self.alone[value] += len(values) == 1
        if b"poison" in values:
            raise Corrupt("checksum mismatch in the row block")
        if b"outage" in values and self.tries[b"outage"] <= self._outages:
            raise StoreUnavailable("the store is down")
        self.written.extend(values)
        return None


def _settings(broker: Broker) -> Settings:
    return Settings(kafka_bootstrap_servers=broker.bootstrap,
                    topic_prefix=f"k{uuid.uuid4().hex[:8]}.", kafka_session_timeout_ms=2000,
                    kafka_heartbeat_interval_ms=500, kafka_max_attempts=3,
                    internal_token=INTERNAL_TOKEN)  # type: ignore[arg-type]


def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for value in values:
        producer.send(topic, value, partition=0).get(30)
    producer.close()


def _dead_letters(settings: Settings, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                             enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t.dlq(topic), p)
                      for p in consumer.partitions_for_topic(t.dlq(topic)) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        found: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                found.extend(records)
        return found
    finally:
        consumer.close()


def _committed(settings: Settings, topic: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                             group_id=settings.group("runner-test"), enable_auto_commit=False)
    try:
        return consumer.committed(TopicPartition(topic, 0))
    finally:
        consumer.close()


def _run(runner: Recorder, done: threading.Event) -> threading.Thread:
    worker = threading.Thread(target=runner.run, args=(done,), daemon=True)
    worker.start()
    return worker


def test_a_poison_record_is_dead_lettered_after_bounded_tries_and_the_partition_goes_on(
        broker: Broker) -> None:
    settings = _settings(broker)
    t.ensure_topics(settings)
    topic = settings.topic("traces.enriched")
    before = [f"before-{i}".encode() for i in range(5)]
    after = [f"after-{i}".encode() for i in range(20)]
    _produce(settings, topic, [*before, b"poison", *after])

    runner, done = Recorder(settings, topic), threading.Event()
    worker = _run(runner, done)
    try:
        wait_until(lambda: set(runner.written) >= {*before, *after}, 90,
                   "the records around the poison one written")
        dead = wait_until(lambda: _dead_letters(settings, topic), 30, "the dead letter")
        wait_until(lambda: _committed(settings, topic) == len(before) + 1 + len(after), 30,
                   "the partition committed to its end")
    finally:
        done.set()
        worker.join(30)
    assert sorted(runner.written) == sorted([*before, *after])  # each once, none lost
    assert b"poison" not in runner.written
    assert len(dead) == 1 and dead[0].value == b"poison"
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers[t.H_REASON] == "Corrupt: checksum mismatch in the row block"
    assert headers[t.H_ERROR_TYPE] == "Corrupt"
    assert headers[t.H_ATTEMPTS] == "3"
    assert headers[t.H_STAGE] == "runner-test"
    assert (headers[t.H_SOURCE_TOPIC], headers[t.H_SOURCE_PARTITION],
            headers[t.H_SOURCE_OFFSET]) == (topic, "0", str(len(before)))
    # three tries alone (after three in its batch, unless it was polled alone): the bound
    # holds, nothing retries forever
    assert runner.alone[b"poison"] == 3
    assert runner.tries[b"poison"] in (3, 6)


def test_an_outage_is_retried_past_the_bound_and_never_dead_lettered(broker: Broker) -> None:
    settings = _settings(broker)
    t.ensure_topics(settings)
    topic = settings.topic("traces.enriched")
    values = [b"one", b"outage", b"two"]
    _produce(settings, topic, values)

    runner, done = Recorder(settings, topic, outages=6), threading.Event()
    worker = _run(runner, done)
    try:
        wait_until(lambda: set(runner.written) == set(values), 90, "written after the outage")
        wait_until(lambda: _committed(settings, topic) == len(values), 30, "committed")
    finally:
        done.set()
        worker.join(30)
    assert runner.tries[b"outage"] == 7  # six failures, more than max_attempts, then success
    assert sorted(runner.written) == sorted(values)
    assert _dead_letters(settings, topic) == []
