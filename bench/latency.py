"""Latency of the pipeline at a steady rate (not at saturation).

Starts a throwaway stack (broker, ingest, enrich, judge with its default 5 %
sampling by the built-in evaluators, sink with the embedded store) and measures:

  - ingest acknowledgement latency at --ack-rate events/s (default 1,000) for --seconds,
    each call timed from send to its acks=all answer: first one event per `Emit` call,
    then `EmitBatch` calls of 10 events (what a batching client such as the SDK sends);
  - emit-to-queryable latency at --rate events/s (default: half the end-to-end rate
    `bench.pipeline` last measured): batches of 10 every 10/rate s; for a sample of
    the events, the time from the moment the client sent it until the store's
    `stored_at` (the insert that made it queryable). Client and server share a clock.

Writes bench/results/latency.json.

    python -m bench.latency [--ack-rate 1000] [--rate N] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import datetime
from typing import Any

import grpc
import httpx

from bench.pipeline import make_events
from bench.stack import KEY, RESULTS, bench_stack
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

AUTH = [("authorization", f"Bearer {KEY}")]


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {"p50": q(0.50), "p95": q(0.95), "p99": q(0.99), "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2), "n": len(ordered)}


async def paced(rate: float, seconds: float, per_tick: int, send: Any) -> None:
    """Call `send(i)` for tick i at `rate / per_tick` ticks per second without drifting."""
    interval = per_tick / rate
    ticks = int(seconds / interval)
    started = time.perf_counter()
    tasks = []
    for i in range(ticks):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


async def ack_latency(target: str, events: list, rate: float, seconds: float,
                      per_call: int = 1) -> list[float]:
    """`rate` events/s: one `Emit` per event, or `EmitBatch` of `per_call` events."""
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def one(i: int) -> None:
            started = time.perf_counter()
            if per_call == 1:
                await stub.Emit(ingest_pb2.EmitRequest(event=events[i % len(events)]),
                                metadata=AUTH, timeout=30)
            else:
                first = (i * per_call) % len(events)
                await stub.EmitBatch(ingest_pb2.EmitBatchRequest(
                    events=events[first:first + per_call]), metadata=AUTH, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)

        await paced(rate, seconds, per_call, one)
    return latencies


async def emit_to_stored(target: str, events: list, rate: float, seconds: float
                         ) -> dict[str, tuple[str, float]]:
    """Sends at `rate`; returns event_id -> (trace_id, wall-clock send time)."""
    sent: dict[str, tuple[str, float]] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)

        async def batch(i: int) -> None:
            part = events[i * 10:(i + 1) * 10]
            now = time.time()
            for e in part:
                sent[e.event_id] = (e.trace_id, now)
            r = await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=part), metadata=AUTH,
                                     timeout=30)
            assert r.rejected == 0, r.results[:3]

        await paced(rate, seconds, 10, batch)
    return sent


def stored_latencies(api: str, sent: dict[str, tuple[str, float]], sample: int
                     ) -> list[float]:
    chosen = random.Random(7).sample(sorted(sent), min(sample, len(sent)))
    out = []
    with httpx.Client(base_url=api, headers={"authorization": f"Bearer {KEY}"},
                      timeout=30) as client:
        for event_id in chosen:
            trace_id, sent_at = sent[event_id]
            calls = client.get(f"/v1/traces/{trace_id}").json()["calls"]
            stored = next(c["stored_at"] for c in calls if c["event_id"] == event_id)
            out.append((datetime.fromisoformat(stored).timestamp() - sent_at) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ack-rate", type=float, default=1000.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="events/s for emit-to-queryable (default: half of the last "
                             "bench.pipeline end-to-end rate)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sample", type=int, default=1000)
    args = parser.parse_args()
    rate = args.rate
    if rate is None:
        last = RESULTS / "pipeline.json"
        rate = (json.loads(last.read_text())["end_to_end_events_per_s"] / 2 if last.exists()
                else 2500.0)
    events = make_events(5000 + int(rate * args.seconds) + 1000)  # one world: distinct ids
    ack_events, e2e_events = events[:5000], events[5000:]
    with bench_stack(("sink", "enrich", "judge", "ingest")) as stack:
        print("warming up...", flush=True)
        asyncio.run(ack_latency(stack.ingest, ack_events[:200], 200, 1))
        stack.wait_stored(200)
        print(f"ack latency: {args.ack_rate:g} Emit calls/s for {args.seconds:g} s", flush=True)
        acks = asyncio.run(ack_latency(stack.ingest, ack_events, args.ack_rate, args.seconds))
        print(f"ack latency: {args.ack_rate:g} events/s as EmitBatch of 10", flush=True)
        batched = asyncio.run(ack_latency(stack.ingest, ack_events, args.ack_rate,
                                          args.seconds, per_call=10))
        stack.wait_stored(min(len(ack_events), len(acks)))  # distinct events sent
        base = stack.stored()
        print(f"emit-to-queryable: {rate:,.0f} events/s for {args.seconds:g} s", flush=True)
        sent = asyncio.run(emit_to_stored(stack.ingest, e2e_events, rate, args.seconds))
        stack.wait_stored(base + len(sent))
        stored = stored_latencies(stack.api, sent, args.sample)
    result = {
        "ack_rate_events_per_s": args.ack_rate, "ack_latency_ms": quantiles(acks),
        "ack_latency_batch_of_10_ms": quantiles(batched),
        "emit_to_queryable_rate_events_per_s": round(rate),
        "emit_to_queryable_ms": quantiles(stored), "judge_sampling": 0.05,
        "events_sent_for_e2e": len(sent), "latency_sample": len(stored),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
