"""Vigil's own Kafka runner (vigil.kafka.runner, kafka-python) against Sentry's
sentry-arroyo (confluent-kafka / librdkafka) consuming the same records.

    .venv/bin/python -m bench.kafka_runner --records 200000 \
        --arroyo-python /work/scratch-kafka-runner/venv/bin/python

Starts a fresh local broker (Tansu, the one the tests use), produces N small records
(100 bytes, 4 partitions), then consumes them all with each runner in its own process
and a fresh consumer group: decode each record, batch (20,000 records or 0.5 s), "write"
the batch (count it), commit its offsets. Reported per runner: records/s from the first
record to the last committed one, the same including the group join, CPU seconds per
1,000 records (user + system of the consuming process), and its peak RSS. arroyo runs
in its own virtualenv (`python3.11 -m venv ...; pip install sentry-arroyo`), whose
interpreter `--arroyo-python` names; it is not a dependency of Vigil.
Writes bench/results/kafka_runner.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BATCH_RECORDS = 20_000
BATCH_SECONDS = 0.5
SESSION_MS, HEARTBEAT_MS = 2000, 500  # as the tests run the embedded broker


def _usage() -> dict[str, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": r.ru_utime + r.ru_stime, "rss_mib": r.ru_maxrss / 1024}


def _report(n: int, started: float, first: float, last: float, cpu0: float) -> None:
    use = _usage()
    print(json.dumps({
        "records": n, "records_per_s": round(n / (last - first)),
        "records_per_s_with_join": round(n / (last - started)),
        "join_s": round(first - started, 2),
        "cpu_s_per_1k": round((use["cpu_s"] - cpu0) / n * 1000, 4),
        "peak_rss_mib": round(use["rss_mib"], 1)}))


def consume_vigil(bootstrap: str, topic: str, n: int) -> None:
    from kafka import TopicPartition

    from vigil.kafka.runner import Batch, BatchLimits, Runner
    from vigil.settings import Settings

    stop = threading.Event()
    marks: dict[str, float] = {}

    class Counting(Runner[int]):
        committed = 0

        def decode(self, tp: TopicPartition, record: Any) -> int:
            marks.setdefault("first", time.monotonic())
            return len(record.value)

        def write(self, batch: Batch[int]) -> None:
            return None

        def _commit(self, batch: Batch[int]) -> None:
            super()._commit(batch)
            self.committed += len(batch.entries)
            if self.committed >= n:
                marks["last"] = time.monotonic()
                stop.set()

    settings = Settings(kafka_bootstrap_servers=bootstrap, topic_prefix="",
                        kafka_session_timeout_ms=SESSION_MS,
                        kafka_heartbeat_interval_ms=HEARTBEAT_MS)
    cpu0, started = _usage()["cpu_s"], time.monotonic()
    Counting(settings, f"bench-{uuid.uuid4().hex[:6]}", [topic],
             BatchLimits(BATCH_RECORDS, BATCH_SECONDS)).run(stop)
    _report(n, started, marks["first"], marks["last"], cpu0)


def consume_arroyo(bootstrap: str, topic: str, n: int) -> None:
    from arroyo.backends.kafka import KafkaConsumer, KafkaPayload
    from arroyo.backends.kafka.configuration import build_kafka_consumer_configuration
    from arroyo.commit import IMMEDIATE
    from arroyo.processing import StreamProcessor
    from arroyo.processing.strategies import (
        BatchStep,
        CommitOffsets,
        ProcessingStrategy,
        ProcessingStrategyFactory,
        RunTask,
    )
    from arroyo.types import Commit, Message, Partition, Topic

    marks: dict[str, float] = {}
    count = [0]
    processor: list[StreamProcessor[KafkaPayload]] = []

    def decode(message: Message[KafkaPayload]) -> int:
        marks.setdefault("first", time.monotonic())
        return len(message.payload.value)

    def write(message: Message[Any]) -> None:
        count[0] += len(message.payload)
        if count[0] >= n:
            marks.setdefault("last", time.monotonic())
            processor[0].signal_shutdown()

    class Factory(ProcessingStrategyFactory[KafkaPayload]):
        def create_with_partitions(self, commit: Commit, partitions: dict[Partition, int]
                                   ) -> ProcessingStrategy[KafkaPayload]:
            return RunTask(decode, BatchStep(BATCH_RECORDS, BATCH_SECONDS,
                                             RunTask(write, CommitOffsets(commit))))

    config = build_kafka_consumer_configuration(
        {}, group_id=f"bench-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
        bootstrap_servers=[bootstrap], enable_auto_commit=False,
        override_params={"session.timeout.ms": SESSION_MS,
                         "heartbeat.interval.ms": HEARTBEAT_MS})
    cpu0, started = _usage()["cpu_s"], time.monotonic()
    processor.append(StreamProcessor(KafkaConsumer(config), Topic(topic), Factory(),
                                     commit_policy=IMMEDIATE))
    processor[0].run()
    _report(n, started, marks["first"], marks["last"], cpu0)


def _produce(bootstrap: str, topic: str, n: int, size: int) -> None:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 4, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024)
    value = b"x" * size
    for i in range(n):
        producer.send(topic, value, partition=i % 4)
    producer.flush()
    producer.close()


def _run_child(python: str, client: str, bootstrap: str, topic: str, n: int
               ) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'services'}:{ROOT}"}
    done = subprocess.run([python, "-m", "bench.kafka_runner", "--consume", client,
                           "--bootstrap", bootstrap, "--topic", topic, "--records", str(n)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per record")
    parser.add_argument("--arroyo-python", default="/work/scratch-kafka-runner/venv/bin/python")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--consume", choices=["vigil", "arroyo"], help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consume = consume_vigil if args.consume == "vigil" else consume_arroyo
        consume(args.bootstrap, args.topic, args.records)
        return

    from bench.stack import free_port
    from vigil.kafka.broker import start_broker

    port = free_port()
    broker = start_broker("127.0.0.1", port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        topic = f"bench-runner-{uuid.uuid4().hex[:6]}"
        _produce(bootstrap, topic, args.records, args.size)
        runs: dict[str, list[dict[str, Any]]] = {"vigil": [], "arroyo": []}
        for _ in range(args.rounds):
            runs["vigil"].append(_run_child(sys.executable, "vigil", bootstrap, topic,
                                            args.records))
            runs["arroyo"].append(_run_child(args.arroyo_python, "arroyo", bootstrap, topic,
                                             args.records))
    finally:
        broker.kill()
        broker.wait(10)
    result = {"records": args.records, "record_bytes": args.size, "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kafka_runner.json").write_text(json.dumps(result, indent=2))
    print(f"{args.records:,} records of {args.size} B, 4 partitions, batches of "
          f"{BATCH_RECORDS:,} / {BATCH_SECONDS} s, commit per batch")
    print(f"{'runner':8} {'records/s':>10} {'with join':>10} {'join s':>7} "
          f"{'CPU s/1k':>9} {'RSS MiB':>8}")
    for name, rs in runs.items():
        for r in rs:
            if "error" in r:
                print(f"{name:8} failed: {r['error']}")
                continue
            print(f"{name:8} {r['records_per_s']:>10,} {r['records_per_s_with_join']:>10,} "
                  f"{r['join_s']:>7} {r['cpu_s_per_1k']:>9} {r['peak_rss_mib']:>8}")


if __name__ == "__main__":
    main()
