"""The benchmark table: every figure of `make bench` beside its target and the limit of
the part under it measured in the same run, as a ratio. Reads bench/results/*.json
(written by the other benchmarks), prints the table and writes bench/results/summary.json.

    python -m bench.report
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from typing import Any

from bench.stack import RESULTS


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    target: str
    met: bool | None
    limit: str = ""          # the part under it, measured in the same run
    ratio: float | None = None


def load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def figures() -> list[Figure]:
    out: list[Figure] = []
    pipe, lat, sdk = load("pipeline"), load("latency"), load("sdk_overhead")
    dash, ana, otlp = load("dashboard_queries"), load("analyzer"), load("otlp")
    if pipe:
        e2e, raw = pipe["end_to_end_events_per_s"], pipe["raw_kafka_produce_1kb_msgs_per_s"]
        out.append(Figure("sustained end to end (5 % judged)", e2e, "events/s", ">= 20,000",
                          e2e >= 20_000, f"raw Kafka produce {raw:,} msgs/s; raw chdb insert "
                          f"{pipe['raw_chdb_insert_rows_per_s']:,} rows/s",
                          round(e2e / raw, 2)))
        acked = pipe["ingest_acked_events_per_s"]
        out.append(Figure("ingest acknowledged", acked, "events/s", "", None,
                          f"raw Kafka produce {raw:,} msgs/s", round(acked / raw, 2)))
        for stage in ("ingest", "enrich", "judge", "sink"):
            key = f"stage_events_per_cpu_s_{stage}"
            if key in pipe:
                out.append(Figure(f"{stage}: events per CPU-second", pipe[key], "events/s",
                                  "", None, "one core"))
        total = pipe.get("peak_rss_mib_total")
        if total:
            parts = ", ".join(f"{k.removeprefix('peak_rss_mib_')} {v}" for k, v in pipe.items()
                              if k.startswith("peak_rss_mib_") and k != "peak_rss_mib_total")
            out.append(Figure("peak RSS, all processes", total, "MiB", "< 2,048",
                              total < 2048, parts))
    if lat:
        ack = lat["ack_latency_ms"]
        rate = f"{lat['ack_rate_events_per_s']:,.0f} events/s"
        out.append(Figure(f"ingest ack p99 at {rate}, 1 event per Emit", ack["p99"], "ms",
                          "< 20", ack["p99"] < 20, f"p50 {ack['p50']} ms"))
        batched = lat.get("ack_latency_batch_of_10_ms")
        if batched:
            out.append(Figure(f"ingest ack p99 at {rate}, EmitBatch of 10", batched["p99"],
                              "ms", "< 20", batched["p99"] < 20, f"p50 {batched['p50']} ms"))
        e2e_lat = lat["emit_to_queryable_ms"]
        out.append(Figure(f"emit-to-queryable p95 at "
                          f"{lat['emit_to_queryable_rate_events_per_s']:,} events/s",
                          e2e_lat["p95"], "ms", "< 2,000", e2e_lat["p95"] < 2000,
                          f"p50 {e2e_lat['p50']} ms, p99 {e2e_lat['p99']} ms"))
    if sdk:
        out.append(Figure("SDK record() per call, median", sdk["median_us"], "µs", "< 20",
                          sdk["median_us"] < 20, f"p99 {sdk['p99_us']} µs; empty loop "
                          f"{sdk['empty_loop_median_us']} µs"))
    if dash:
        for run in dash:
            slowest = max((p["slowest_read_ms"], page) for page, p in run["pages"].items()
                          if "7 days" not in page)
            out.append(Figure(f"slowest dashboard read, last 24 h, {run['traces']:,} traces",
                              slowest[0], "ms", "< 300", slowest[0] < 300,
                              f"page {slowest[1]}"))
            week = run["pages"].get("Overview, 7 days")
            if week:
                out.append(Figure(f"slowest dashboard read, 7 days, {run['traces']:,} traces",
                                  week["slowest_read_ms"], "ms", "< 300",
                                  week["slowest_read_ms"] < 300, "Overview"))
    if ana:
        cycle = ana["next_cycle_seconds"]
        out.append(Figure(f"analyzer cycle, {ana['traces_in_window']:,} traces", cycle, "s",
                          "< 10", cycle < 10, f"first cycle {ana['first_cycle_seconds']} s"))
    if otlp:
        out.append(Figure("OTLP/gRPC accepted", otlp["otlp_grpc_accepted_spans_per_s"],
                          "spans/s", "", None))
    return out


def main() -> None:
    rows = figures()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}\n")
    print(f"{'figure':<52} {'value':>12}  {'target':<10} {'met':<4} {'ratio':>6}  limit")
    for f in rows:
        value = ("-" if f.value is None
                 else f"{f.value:,.1f}" if f.value < 100 else f"{f.value:,.0f}")
        met = "" if f.met is None else ("yes" if f.met else "NO")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        print(f"{f.name:<52} {value:>8} {f.unit:<5} {f.target:<10} {met:<4} {ratio:>6}  {f.limit}")
    (RESULTS / "summary.json").write_text(json.dumps(
        {"machine": machine, "figures": [asdict(f) for f in rows]}, indent=2))
    print(f"\nwritten to {RESULTS / 'summary.json'}")


if __name__ == "__main__":
    main()
