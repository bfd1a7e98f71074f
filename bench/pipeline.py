"""End-to-end throughput of the pipeline on this machine.

Starts a fresh local broker and the three services (ingest, enrich, sink with
the embedded store) as processes, sends N events over gRPC from concurrent
EmitStream clients (100 events per message), and measures:
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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx

from vigil.kafka.broker import start_broker, wait_for_port
from vigil.v1 import ingest_pb2, ingest_pb2_grpc

KEY = "bench-key"
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_events(n: int) -> list:
    from datetime import UTC, datetime

    from vigil.demo.traffic import DemoWorld

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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stored(api: str) -> int:
    r = httpx.get(f"{api}/v1/stats", headers={"authorization": f"Bearer {KEY}"}, timeout=30)
    return int(r.json()["traces"])


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
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    port, ingest_port, api_port = free_port(), free_port(), free_port()
    broker = start_broker("127.0.0.1", port, root / "broker.log")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
           "VIGIL_DATA_DIR": str(root / "data"), "VIGIL_API_KEYS": f"{KEY}=bench",
           "VIGIL_INGEST_LISTEN": f"127.0.0.1:{ingest_port}",
           "VIGIL_API_LISTEN": f"127.0.0.1:{api_port}",
           "VIGIL_KAFKA_SESSION_TIMEOUT_MS": "2000", "VIGIL_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
           "VIGIL_LOG_LEVEL": "WARNING",
           "VIGIL_PRICE_OVERRIDES_FILE": str(Path("examples/price-overrides.yaml").resolve())}
    procs = []
    api = f"http://127.0.0.1:{api_port}"
    try:
        for name in ("sink", "enrich", "ingest"):
            log = open(root / f"{name}.log", "ab")  # noqa: SIM115
            procs.append(subprocess.Popen([sys.executable, "-m", "vigil", name], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        wait_for_port("127.0.0.1", ingest_port, 60)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                stored(api)
                break
            except Exception:
                time.sleep(0.2)
        print(f"generating {args.events} demo events...", flush=True)
        events = make_events(args.events)
        asyncio.run(send(f"127.0.0.1:{ingest_port}", events[:2000], 1))  # warm-up
        while stored(api) < 2000:
            time.sleep(0.1)
        print("sending...", flush=True)
        names = ("sink", "enrich", "ingest")
        cpu_before = {n: cpu_seconds(p.pid) for n, p in zip(names, procs, strict=True)}
        cpu_before["broker"] = cpu_seconds(broker.pid)
        started = time.perf_counter()
        ack_s = asyncio.run(send(f"127.0.0.1:{ingest_port}", events[2000:], args.clients))
        target = args.events
        while (n := stored(api)) < target:
            time.sleep(0.05)
        e2e_s = time.perf_counter() - started
        sent = args.events - 2000
        pids = {**{n: p.pid for n, p in zip(names, procs, strict=True)}, "broker": broker.pid}
        cpu = {f"cpu_s_{n}": round(cpu_seconds(pid) - cpu_before[n], 1)
               for n, pid in pids.items()}
        rss = {f"peak_rss_mib_{n}": round(rss_mib(pid)) for n, pid in pids.items()}
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "events": sent, "clients": args.clients, "events_per_message": 100,
            "ingest_acked_events_per_s": round(sent / ack_s),
            "end_to_end_events_per_s": round(sent / e2e_s),
            "stored_rows": n,
            "seconds_sending": round(ack_s, 1), "seconds_until_stored": round(e2e_s, 1),
            **cpu, **rss,
            "raw_kafka_produce_1kb_msgs_per_s": round(raw_kafka_produce(f"127.0.0.1:{port}")),
            "raw_chdb_insert_rows_per_s": round(raw_store_insert()),
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        broker.terminate()
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
