"""The one Kafka runner of every kafka-python consumer (sink, notify).

A stage subclasses `Runner` and gives two steps, nothing of Kafka:
- `decode(tp, record) -> item`: pure, per record. It runs under the error policy
  (vigil.kafka.policy) without waiting: bad input (PermanentError) is dead-lettered at
  once, an unknown exception after `VIGIL_KAFKA_MAX_ATTEMPTS` tries.
- `write(batch)`: the I/O of a batch (a store insert, webhook deliveries). It runs under
  the full policy: a transient error (store or broker down) is retried with backoff
  without limit while the partitions are paused and the consumer keeps polling (it stays
  in the group; backpressure, never a bare sleep); an unknown one `max_attempts` times,
  then the batch is split and each record tried alone, so only the poison record is
  dead-lettered, with its type and message; a permanent one splits the batch at once.
  `write` may return a `concurrent.futures.Future` (work done on another thread or
  event loop): the runner waits for it the same paused, polling way.

The runner owns the rest: consumer settings from `Settings` (`consumer_config`),
batching (poll up to `max_records`, flush at `max_size` or after `max_wait_s`), commit
of the batch's offsets only after its write succeeded, dead letters with the reason
headers (vigil.kafka.topics.dead_letter_headers), and rebalances (a revoked batch is
dropped and its partitions rewound; the new owner reads it again).

Why our own runner and not sentry-arroyo, by measurement (`python -m bench.kafka_runner
--records 200000`, 2026-12-03, this 2-core machine shared with other work, the tests'
broker Tansu 0.6.0: 200k records of 100 B on 4 partitions, batches of 20,000 / 0.5 s,
commit per batch; two runs each at load average ~19, two at ~7):
- this runner (kafka-python 3.0.12): 9,513 / 11,545 and 12,240 / 12,271 records/s;
  0.034 / 0.032 and 0.028 / 0.028 CPU s per 1k records; 83-88 MiB peak RSS.
- arroyo 2.48.0 (confluent-kafka 2.16.1 with its bundled librdkafka; RunTask ->
  BatchStep -> RunTask -> CommitOffsets): 4,791 / 5,681 and 5,683 / 9,522 records/s;
  0.063 / 0.063 and 0.058 / 0.050 CPU s per 1k records; 55 MiB.
  Its consumer works against Tansu (joins in 1.1-1.3 s with session 2000 / heartbeat
  500 ms, consumes, commits). It cost about twice the CPU per record here; the likely
  cause (not profiled) is that its processor steps the Python strategies once per
  message, while kafka-python hands over up to 2,000 records per poll.
  The bench's write is a no-op: these are the consumers' own costs, runner included.
- Dependencies: arroyo adds 2 packages (sentry-arroyo and confluent-kafka, 17 MB with
  librdkafka); this runner adds none (kafka-python, which has no dependencies, is needed
  anyway for the admin client, the lag check and the analyzer's lease), so adopting
  arroyo would have meant four Kafka clients in the server, not fewer.
What arroyo has that this lacks: parallel strategies (threads, processes) and a
dead-letter limit by invalid-message ratio; our stages need neither today.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

from vigil.kafka import topics as t
from vigil.kafka.batch import Batch, BatchLimits, Entry
from vigil.kafka.config import consumer_config, reader_config
from vigil.kafka.policy import Abandoned, DeadLetter, ErrorPolicy, Retry, describe, retry
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import DEAD_LETTERS, POISON_RETRIES
from vigil.settings import Settings

log = get_logger(__name__)
T = TypeVar("T")
Header = tuple[str, bytes]
__all__ = ["Batch", "BatchLimits", "Entry", "Runner", "consumer_config", "reader_config"]


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runner: Runner[Any]) -> None:
        self._runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._runner.drop_batch("partitions revoked")

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned", stage=self._runner.stage,
                 partitions=sorted(f"{p.topic}:{p.partition}" for p in assigned))


class Runner(Generic[T]):
    """Consume `topics` in group `<prefix><stage>`: decode, batch, write, commit."""

    retry_message = "write failed, retrying"

    def __init__(self, settings: Settings, stage: str, topics: list[str], limits: BatchLimits,
                 permanent: tuple[type[BaseException], ...] = (),
                 clock: Callable[[], float] = time.monotonic, **consumer: Any) -> None:
        self.stage = stage
        self._settings = settings
        self._topics = topics
        self._limits = limits
        self._clock = clock
        self._consumer_overrides = consumer
        self.policy = ErrorPolicy(max_attempts=settings.kafka_max_attempts, permanent=permanent)
        self._decode_policy = ErrorPolicy(max_attempts=settings.kafka_max_attempts,
                                          permanent=permanent, transient=())
        self._batch: Batch[T] = Batch()
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None

    # --- what a stage gives ---------------------------------------------------------
    def decode(self, tp: TopicPartition, record: Any) -> T:
        """The item of one record (pure; raises on a record that cannot be processed)."""
        raise NotImplementedError

    def size(self, item: T) -> int:
        """What an item counts toward `max_size` (rows, say)."""
        return 1

    def write(self, batch: Batch[T]) -> concurrent.futures.Future[Any] | None:
        """Write the batch, or return a Future of the write; raise when it failed."""
        raise NotImplementedError

    def written(self, batch: Batch[T], result: Any) -> None:
        """After a write that returned a Future: what to do with its result before the
        commit (runs on the runner's thread, under the same policy as the write)."""

    def retrying(self, exc: BaseException, attempt: int, after_s: float, batch: Batch[T]
                 ) -> None:
        """Called before every retry of a write (a stage counts them)."""

    # --- the loop ---------------------------------------------------------------------
    @property
    def producer(self) -> KafkaProducer:
        assert self._producer is not None, "open() first"
        return self._producer

    def run(self, stop: threading.Event) -> None:
        self.open()
        try:
            while not stop.is_set():
                self.step(stop)
            if self._batch.next_offsets:
                self._flush(stop)
        finally:
            self.close()

    def open(self) -> None:
        config = consumer_config(self._settings, self.stage, **self._consumer_overrides)
        self._consumer = KafkaConsumer(**config)
        self._producer = KafkaProducer(bootstrap_servers=config["bootstrap_servers"],
                                       acks="all", retries=5,
                                       client_id=f"{config['client_id']}-out")
        self._consumer.subscribe(self._topics, listener=_Rebalance(self))
        log.info("consuming", stage=self.stage, topics=self._topics)

    def step(self, stop: threading.Event) -> None:
        """Poll once; write and commit the batch when it is full or old enough."""
        assert self._consumer is not None
        polled = self._consumer.poll(timeout_ms=self._limits.poll_timeout_ms,
                                     max_records=self._limits.max_records)
        for tp, records in polled.items():
            for record in records:
                self._add(tp, record)
        if self._batch.next_offsets and self._due():
            self._flush(stop)

    def close(self) -> None:
        """Leave the group without committing anything not yet written."""
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
        if self._producer is not None:
            self._producer.close(timeout=5)
        log.info("stopped", stage=self.stage)

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
        log.info("batch dropped, it will be read again", stage=self.stage, why=why,
                 size=len(batch))

    def dead_letter(self, tp: TopicPartition, record: Any, reason: str,
                    value: bytes | None = None, error_type: str = "", attempts: int = 0,
                    extra: tuple[Header, ...] = ()) -> None:
        """Send the record (or `value`, a part of it) to `<topic>.dlq` with the reason
        headers and wait for the broker; a broker that is away is waited for."""
        source = (tp.topic, tp.partition, record.offset)
        log.warning("dead-lettered", stage=self.stage, topic=tp.topic, partition=tp.partition,
                    offset=record.offset, reason=reason)
        headers = t.dead_letter_headers(self.stage, source, reason, error_type, attempts, extra)
        payload = (record.value or b"") if value is None else value
        sent = retry(lambda: self.producer.send(t.dlq(tp.topic), payload, key=record.key,
                                                headers=headers).get(timeout=30),
                     ErrorPolicy(max_attempts=10**9), self._hold)
        if isinstance(sent, DeadLetter):  # the broker refused it for good: nowhere to put it
            raise RuntimeError(f"dead letter refused by the broker: {sent.reason}")
        DEAD_LETTERS.labels(self.stage, tp.topic).inc()

    def _due(self) -> bool:
        return (len(self._batch) >= self._limits.max_size
                or self._clock() - self._batch.started >= self._limits.max_wait_s)

    def _add(self, tp: TopicPartition, record: Any) -> None:
        batch = self._batch
        if not batch.next_offsets:
            batch.started = self._clock()
        batch.first_offsets.setdefault(tp, record.offset)
        batch.next_offsets[tp] = record.offset + 1

        def counted(exc: BaseException, attempt: int, decision: Retry) -> None:
            POISON_RETRIES.labels(self.stage).inc()
            log.warning("processing a record failed", stage=self.stage, partition=tp.partition,
                        offset=record.offset, attempt=attempt, error=describe(exc))

        item = retry(lambda: self.decode(tp, record), self._decode_policy,
                     lambda _: True, counted)
        if isinstance(item, DeadLetter):
            self.dead_letter(tp, record, item.reason, error_type=item.error_type,
                             attempts=item.attempts)
            return
        size = self.size(item)
        batch.entries.append(Entry(tp, record, item))
        batch.size += size

    def _flush(self, stop: threading.Event) -> None:
        batch = self._batch
        try:
            outcome = self._write_under_policy(batch, stop)
            if isinstance(outcome, DeadLetter):
                self._write_one_by_one(batch, stop, outcome)
        except Abandoned as exc:
            log.info("batch left unwritten, it will be read again", stage=self.stage,
                     why="stopping" if stop.is_set() else "partitions revoked",
                     error=str(exc)[:300], size=len(batch))
            if stop.is_set() and self._batch is batch:
                self._batch = Batch()  # not committed: read again after the restart
            return
        if self._batch is not batch:  # revoked meanwhile: the new owner writes it again
            return
        try:
            self._commit(batch)
        except CommitFailedError as exc:
            log.warning("commit failed after a rebalance", stage=self.stage, error=str(exc))
        self._batch = Batch()

    def _write_one_by_one(self, batch: Batch[T], stop: threading.Event, failed: DeadLetter
                          ) -> None:
        """The batch failed for good: each record alone, so only the poison one is lost."""
        if len(batch.entries) == 1:
            entry = batch.entries[0]
            self.dead_letter(entry.tp, entry.record, failed.reason,
                             error_type=failed.error_type, attempts=failed.attempts)
            return
        log.warning("batch failed for good, writing its records one by one", stage=self.stage,
                    records=len(batch.entries), error=failed.reason)
        for entry in batch.entries:
            alone = batch.single(entry, self.size(entry.item))
            outcome = self._write_under_policy(alone, stop, parent=batch)
            if isinstance(outcome, DeadLetter):
                self.dead_letter(entry.tp, entry.record, outcome.reason,
                                 error_type=outcome.error_type, attempts=outcome.attempts)

    def _write_under_policy(self, batch: Batch[T], stop: threading.Event,
                            parent: Batch[T] | None = None) -> DeadLetter | None:
        held = batch if parent is None else parent

        def attempt() -> None:
            pending = self.write(batch)
            if pending is not None:
                self.written(batch, self._await(pending, stop))

        def wait(seconds: float) -> bool:
            return self._hold(seconds) and self._batch is held and not stop.is_set()

        def retrying(exc: BaseException, n: int, decision: Retry) -> None:
            log.warning(self.retry_message, stage=self.stage, error=describe(exc)[:500],
                        attempt=n, retry_in_s=decision.after_s, size=len(batch))
            self.retrying(exc, n, decision.after_s, batch)

        outcome = retry(attempt, self.policy, wait, retrying)
        return outcome if isinstance(outcome, DeadLetter) else None

    def _await(self, pending: concurrent.futures.Future[Any], stop: threading.Event) -> Any:
        """Wait for a write done elsewhere, polling with the partitions paused meanwhile."""
        while True:
            try:
                return pending.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                pass
            if stop.is_set():
                pending.cancel()
                raise Abandoned("stopped while the write was in flight")
            self._hold(0)

    def _hold(self, seconds: float) -> bool:
        """Poll with every partition paused for `seconds`: the consumer stays in its group
        and reads nothing (backpressure). Returns True (a wait that did its time)."""
        assert self._consumer is not None
        paused = list(self._consumer.assignment())
        self._consumer.pause(*paused)
        try:
            self._consumer.poll(timeout_ms=int(seconds * 1000))
        finally:
            self._consumer.resume(*self._consumer.assignment())
        return True

    def _commit(self, batch: Batch[T]) -> None:
        assert self._consumer is not None
        self._consumer.commit({tp: OffsetAndMetadata(off, None, -1)
                               for tp, off in batch.next_offsets.items()})
