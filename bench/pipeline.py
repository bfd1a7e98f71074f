"""End-to-end throughput of the pipeline on this machine.

Starts a fresh local broker and the services (ingest, enrich, judge with its default
5 % sampling by the built-in evaluators, sink with the embedded store) as processes,
sends N events over gRPC from concurrent EmitStream clients (100 events per message),
and measures:
  - ingest rate: events acknowledged per second (acked = in Kafka);
  - end-to-end rate: events per second until all are queryable in ClickHouse.
Also measures the raw parts in the same run: kafka-python produce rate to the
same broker and chdb insert rate of trace rows. Prints a table and writes
bench/results/pipeline.json.

    python -m bench.pipeline [--events 200000] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import grpc

from bench.stack import KEY, RESULTS, bench_stack, cpu_seconds, rss_mib
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc


def make_events(n: int) -> list:
    from datetime import UTC, datetime

    from vigil.demo.world import DemoWorld

    world = DemoWorld(11)
    now = datetime.now(UTC)
    events = []
    while len(events) < n:
        events.extend(world.next_events(min(1000, n - len(events)), now))
    return events


async def send(target: str, events: list, clients: int, per_message: int = 100) -> float:
    async def client(part: list) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            for chunk in range(0, len(part), 5000):
                piece = part[chunk:chunk + 5000]

                async def msgs(piece=piece):
                    for i in range(0, len(piece), per_message):
                        yield ingest_pb2.EmitBatchRequest(events=piece[i:i + per_message])

                r = await stub.EmitStream(msgs(), metadata=[("authorization", f"Bearer {KEY}")],
                                          timeout=120)
                assert r.rejected == 0, r.results[:3]

    started = time.perf_counter()
    size = len(events) // clients + 1
    await asyncio.gather(*(client(events[i:i + size]) for i in range(0, len(events), size)))
    return time.perf_counter() - started


def raw_kafka_produce(bootstrap: str, n: int = 100_000) -> float:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                      batch_size=256 * 1024)
    payload = b"x" * 1024
    started = time.perf_counter()
    for _ in range(n):
        p.send("bench.raw", payload)
    p.flush()
    rate = n / (time.perf_counter() - started)
    p.close()
    return rate


def raw_store_insert(n: int = 100_000) -> float:
    code = (
        "import time, clickhouse_connect, datetime, sys\n"
        "c = clickhouse_connect.get_client(dsn='chdb://' + sys.argv[1])\n"
        "c.command('CREATE TABLE t (a String, b DateTime64(3), c String, d Float64) "
        "ENGINE=MergeTree ORDER BY (a, b)')\n"
        "now = datetime.datetime.now(datetime.timezone.utc)\n"
        f"rows = [[f'p{{i%5}}', now, 'x'*1000, i*1.0] for i in range({n})]\n"
        "t = time.perf_counter()\n"
        "for i in range(0, len(rows), 20000): c.insert('t', rows[i:i+20000], "
        "column_names=['a','b','c','d'])\n"
        "print(len(rows) / (time.perf_counter() - t))\n"
    )
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([sys.executable, "-c", code, d], capture_output=True, text=True,
                             check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    print(f"generating {args.events} demo events...", flush=True)
    events = make_events(args.events)
    with bench_stack(("sink", "enrich", "judge", "ingest")) as stack:  # judge: 5 % built-in
        asyncio.run(send(stack.ingest, events[:2000], 1))  # warm-up
        stack.wait_stored(2000)
        print("sending...", flush=True)
        pids = stack.pids()
        cpu_before = {n: cpu_seconds(pid) for n, pid in pids.items()}
        started = time.perf_counter()
        ack_s = asyncio.run(send(stack.ingest, events[2000:], args.clients))
        stack.wait_stored(args.events)
        e2e_s = time.perf_counter() - started
        sent = args.events - 2000
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "events": sent, "clients": args.clients, "events_per_message": 100,
            "ingest_acked_events_per_s": round(sent / ack_s),
            "end_to_end_events_per_s": round(sent / e2e_s),
            "stored_rows": stack.stored(),
            "seconds_sending": round(ack_s, 1), "seconds_until_stored": round(e2e_s, 1),
            **{f"cpu_s_{n}": round(cpu_seconds(pid) - cpu_before[n], 1)
               for n, pid in pids.items()},
            **{f"peak_rss_mib_{n}": round(rss_mib(pid)) for n, pid in pids.items()},
            "peak_rss_mib_total": round(sum(rss_mib(pid) for pid in pids.values())),
            # What one core of each stage could carry: events per CPU-second it used.
            **{f"stage_events_per_cpu_s_{n}": round(sent / max(cpu_seconds(pid)
                                                               - cpu_before[n], 1e-3))
               for n, pid in pids.items()},
            "raw_kafka_produce_1kb_msgs_per_s": round(raw_kafka_produce(stack.bootstrap)),
            "raw_chdb_insert_rows_per_s": round(raw_store_insert()),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
