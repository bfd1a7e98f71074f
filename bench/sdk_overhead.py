"""Per-call overhead of the SDK's VigilClient.record() on the app's thread.

Times each of N record() calls (a realistic call: two prompt messages, a
completion, start/end, tokens, params, attributes) with perf_counter_ns while the
sender thread builds, batches and sends in the background, and reports the
median, p90, p99, p99.9 and max in microseconds, next to the same loop calling an
empty function (the timing's own cost). The client's counters are reported too,
so calls made cheap by being dropped would show. The queue holds all N calls by
default, so every timed call does the full work.

Collector: ``closed`` (default: nothing listens, events go to a temporary spill
directory), ``local`` (starts a local broker and the ingest service here), or
``--endpoint HOST:PORT --api-key KEY`` for a running one. Prints a table and
writes bench/results/sdk_overhead.json.

    python -m bench.sdk_overhead [--calls 100000] [--collector closed|local]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.stack import KEY, RESULTS, free_port
from vigil.kafka.broker import start_broker, wait_for_port
from vigil_sdk import VigilClient

PROMPT = [{"role": "system", "content": "You are Acme's friendly support assistant."},
          {"role": "user", "content": "My order #48213 still shows as processing."}]


@contextmanager
def local_collector(root: Path) -> Iterator[str]:
    """A local broker and the ingest service; yields the ingest address."""
    port, ingest_port = free_port(), free_port()
    broker = start_broker("127.0.0.1", port, root / "broker.log")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
           "VIGIL_DATA_DIR": str(root / "data"), "VIGIL_API_KEYS": f"{KEY}=bench",
           "VIGIL_INGEST_LISTEN": f"127.0.0.1:{ingest_port}", "VIGIL_LOG_LEVEL": "WARNING"}
    with open(root / "ingest.log", "ab") as log:
        ingest = subprocess.Popen([sys.executable, "-m", "vigil", "ingest"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", ingest_port, 60)
        yield f"127.0.0.1:{ingest_port}"
    finally:
        ingest.terminate()
        ingest.wait(30)
        broker.terminate()
        broker.wait(30)


def time_calls(n: int, call: Callable[[int], Any]) -> list[int]:
    """Nanoseconds of each of n calls of `call(i)`."""
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        started = clock()
        call(i)
        samples[i] = clock() - started
    return samples


def summary(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000, 2)

    return {"median_us": round(statistics.median(ordered) / 1000, 2), "p90_us": at(0.90),
            "p99_us": at(0.99), "p999_us": at(0.999), "max_us": round(ordered[-1] / 1000, 1),
            "mean_us": round(statistics.fmean(ordered) / 1000, 2)}


def measure(endpoint: str, api_key: str, calls: int, max_queue: int, spill: Path
            ) -> dict[str, Any]:
    client = VigilClient(api_key, endpoint, app="bench", max_queue=max_queue, spill_dir=spill,
                         max_spill_bytes=4 * 1024**3)
    now = time.time()

    def record(i: int) -> None:
        client.record(model="gpt-4o-mini", provider="openai", prompt=PROMPT,
                      completion="It ships tomorrow.", start=now - 0.8, end=now,
                      input_tokens=120, output_tokens=8, session_id="s-7", user_id="u-42",
                      params={"temperature": 0.3}, attributes={"region": "eu"})

    time_calls(min(calls, 2000), record)  # warm-up: imports, first batch, the connection
    client.flush(60)
    before = client.stats()
    samples = time_calls(calls, record)
    started = time.perf_counter()
    drained = client.flush(600)
    drain_s = time.perf_counter() - started
    stats = client.stats()
    client.close(60)
    return {
        **summary(samples), "drained": drained, "drain_after_loop_s": round(drain_s, 2),
        "sent": stats.sent - before.sent, "spilled": stats.spilled - before.spilled,
        "dropped": {k: v - before.dropped.get(k, 0) for k, v in stats.dropped.items()},
        "collector_up": stats.collector_up,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--calls", type=int, default=100_000, help="timed record() calls")
    parser.add_argument("--collector", choices=["closed", "local"], default="closed",
                        help="closed port (spilling) or a local broker + ingest")
    parser.add_argument("--endpoint", help="a running collector, host:port (overrides "
                                           "--collector)")
    parser.add_argument("--api-key", default=KEY, help="key for --endpoint")
    parser.add_argument("--max-queue", type=int, default=0,
                        help="queue size (default: --calls, so that no call is dropped)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-sdk-bench-"))
    max_queue = args.max_queue or args.calls
    try:
        baseline = summary(time_calls(args.calls, lambda i: None))
        if args.endpoint:
            collector = args.endpoint
            result = measure(args.endpoint, args.api_key, args.calls, max_queue, root / "spill")
        elif args.collector == "local":
            collector = "local broker + ingest"
            with local_collector(root) as endpoint:
                result = measure(endpoint, KEY, args.calls, max_queue, root / "spill")
        else:
            collector = "closed port (spilling to disk)"
            result = measure(f"127.0.0.1:{free_port()}", KEY, args.calls, max_queue,
                             root / "spill")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "calls": args.calls, "collector": collector, "max_queue": max_queue,
        **result, "empty_loop_median_us": baseline["median_us"],
        "empty_loop_p99_us": baseline["p99_us"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sdk_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
