"""Throughput with one worker per stage vs two (enrich and sink), on one broker.

For each configuration (1 enrich + 1 sink, then 2 enrich + 2 sinks, the second
sink writing through the store owner's API) on a fresh local broker:
  - per stage: a backlog of events is sent to ingest while enrich and the sinks
    are stopped; then the enrich workers start and drain it, then the sinks.
    A stage's rate is its progress from the moment all its workers are members
    of the consumer group until the backlog is done (enrich: its group's
    committed offsets on the raw topics; sink: rows queryable in the store), so
    start-up and the first rebalance are left out;
  - end to end: with every worker running, more events are sent and the time
    until all are queryable is taken.
Prints a table and writes bench/results/scaling.json.

    python -m bench.scaling [--backlog 80000] [--live 40000] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from bench.pipeline import make_events, send
from bench.stack import RESULTS, BenchStack, bench_stack, cpu_seconds
from vigil.kafka.lag import group_lag, group_members

RAW_TOPICS = ["vigil.traces.raw", "vigil.traces.app"]


def progress_rate(done: Callable[[], float], total: float, ready: Callable[[], bool],
                  timeout_s: float = 600) -> float | None:
    """Units per second from the first moment `ready()` until `done()` reaches `total`;
    None when less than half of `total` was left by then."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not all join the group")
        time.sleep(0.05)
    first, start = done(), time.monotonic()
    while (value := done()) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"stalled at {value:.0f} of {total:.0f}")
        time.sleep(0.05)
    return (total - first) / (time.monotonic() - start) if first <= total / 2 else None


def start_workers(stack: BenchStack, stage: str, workers: int) -> None:
    """The stage's workers; the first sink owns the store, the others write through it."""
    stack.start(stage)
    if stage == "sink":
        stack.wait_api()
    for n in range(2, workers + 1):
        extra = {"VIGIL_STORE_WRITER_URL": stack.api} if stage == "sink" else {}
        stack.start(f"{stage}-{n}", stage, **extra)


def members_ready(stack: BenchStack, group: str, workers: int) -> Callable[[], bool]:
    return lambda: len(group_members(stack.bootstrap, group)) == workers


def measure(workers: int, backlog: list[Any], live: list[Any], clients: int
            ) -> dict[str, Any]:
    n = len(backlog)
    with bench_stack(services=("ingest",)) as stack:
        sent_at = time.perf_counter()
        asyncio.run(send(stack.ingest, backlog, clients))
        ingest_rate = n / (time.perf_counter() - sent_at)
        records = group_lag(stack.bootstrap, "vigil.enrich", RAW_TOPICS)

        start_workers(stack, "enrich", workers)
        enrich_rate = progress_rate(
            lambda: records - group_lag(stack.bootstrap, "vigil.enrich", RAW_TOPICS), records,
            members_ready(stack, "vigil.enrich", workers))
        start_workers(stack, "sink", workers)
        sink_rate = progress_rate(stack.stored, n, members_ready(stack, "vigil.sink", workers))
        stack.wait_stored(n)

        pids = stack.pids()
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        asyncio.run(send(stack.ingest, live, clients))
        stack.wait_stored(n + len(live))
        e2e_s = time.perf_counter() - started
        return {
            "workers_per_stage": workers,
            "ingest_acked_events_per_s": round(ingest_rate),
            "enrich_events_per_s": enrich_rate and round(enrich_rate * n / records),
            "sink_events_per_s": sink_rate and round(sink_rate),
            "end_to_end_events_per_s": round(len(live) / e2e_s),
            "stored_rows": stack.stored(),
            **{f"cpu_s_end_to_end_{name}": round(cpu_seconds(pid) - cpu_before[name], 1)
               for name, pid in pids.items()},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=80_000,
                        help="events the stages drain one after the other")
    parser.add_argument("--live", type=int, default=40_000,
                        help="events then sent through the running pipeline")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    print(f"generating {args.backlog + args.live} demo events...", flush=True)
    events = make_events(args.backlog + args.live)
    backlog, live = events[:args.backlog], events[args.backlog:]
    runs = []
    for workers in (1, 2):
        print(f"{workers} enrich + {workers} sink...", flush=True)
        runs.append(measure(workers, backlog, live, args.clients))
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                         f"{platform.python_version()}",
              "backlog_events": args.backlog, "live_events": args.live, "runs": runs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaling.json").write_text(json.dumps(result, indent=2))
    keys = list(dict.fromkeys(k for r in runs for k in r if k != "workers_per_stage"))
    width = max(map(len, keys))
    print(f"{'':<{width}}  {'1 per stage':>12}  {'2 per stage':>12}")
    for k in keys:
        print(f"{k:<{width}}  {runs[0].get(k, '-')!s:>12}  {runs[1].get(k, '-')!s:>12}")


if __name__ == "__main__":
    main()
