"""How long the analyzer's detectors take on realistic volumes.

Anomalies: N slices (default 1,000), each with one week of per-minute history of
five metrics (requests, cost, p95 latency, error rate, judge score; daily and
weekly rhythm plus noise) and a 15-minute analysis window; every preset signal of
`vigil.analyze.detect.anomaly.SIGNALS` that the metrics feed is checked once per
slice, as one analyzer tick would. Only the `detect_series` calls are timed.

Drift: one `drift_report` over 5 features (three numeric, one categorical, one
text) with 100k reference and 100k current rows each (1M values), the current
sample shifted on two features. Only the report is timed.

Prints a table and writes bench/results/detectors.json.

    python -m bench.detectors [--slices 1000] [--history-days 7] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigil.analyze.detect.anomaly import SIGNALS, detect_series
from vigil.analyze.detect.drift import drift_report

RESULTS = Path(__file__).parent / "results"
START = datetime(2025, 3, 3, tzinfo=UTC)
DAY = 1440
WORDS = np.array(["order", "refund", "shipping", "delivery", "account", "password", "invoice",
                  "cancel", "help", "thanks", "please", "status", "late", "broken", "card",
                  "wrong", "answer"])


def slice_frame(rng: np.random.Generator, minutes: int) -> pd.DataFrame:
    minute = np.arange(minutes)
    load = (0.55 + 0.45 * np.sin(2 * np.pi * ((minute % DAY) / 60 - 9) / 24)) * np.where(
        (minute // DAY) % 7 >= 5, 0.6, 1.0)
    requests = rng.poisson(rng.uniform(5, 300) * load).astype(float)
    safe = np.maximum(requests, 1)
    return pd.DataFrame({
        "requests": requests,
        "cost_usd": requests * 0.002 * np.exp(rng.normal(0, 0.3, minutes) / np.sqrt(safe)),
        "latency_p95_ms": np.where(requests > 0, 900 * np.exp(rng.normal(0, 0.08, minutes)),
                                   np.nan),
        "error_rate": rng.binomial(requests.astype(np.int64), 0.005) / safe,
        "judge_score_mean": np.clip(0.85 + rng.normal(0, 0.05, minutes), 0, 1),
    }, index=pd.date_range(START, periods=minutes, freq="min"))


def bench_anomalies(slices: int, history_days: int, window: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    minutes = history_days * DAY + window
    signals = [s for s in SIGNALS.values() if s.metric in
               ("requests", "cost_usd", "latency_p95_ms", "error_rate", "judge_score_mean")]
    spent, findings, calls = 0.0, 0, 0
    for _ in range(slices):
        frame = slice_frame(rng, minutes)
        counts = frame["requests"].iloc[-window:]
        for spec in signals:
            series = frame[spec.metric]
            t0 = time.perf_counter()
            found = detect_series(series.iloc[:-window], series.iloc[-window:], spec.signal,
                                  counts=counts)
            spent += time.perf_counter() - t0
            findings += found is not None
            calls += 1
    return {"slices": slices, "history_days": history_days, "window_minutes": window,
            "signals_per_slice": len(signals), "detect_calls": calls,
            "findings": findings, "anomaly_total_s": round(spent, 3),
            "anomaly_per_slice_ms": round(1000 * spent / slices, 3),
            "anomaly_per_call_ms": round(1000 * spent / calls, 3)}


def sample(rng: np.random.Generator, n: int, shift: float) -> dict[str, Any]:
    words = WORDS[rng.integers(0, len(WORDS) - (0 if shift else 2), size=(n, 8))]
    return {"latency": rng.lognormal(shift, 0.5, n), "tokens": rng.poisson(300, n),
            "score": rng.beta(8, 2, n),
            "model": rng.choice(["gpt-4o", "gpt-4o-mini", "claude"], n).tolist(),
            "prompt": [" ".join(row) for row in words]}


def bench_drift(rows: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    ref, cur = sample(rng, rows, 0.0), sample(rng, rows, 0.2)
    kinds = {"latency": "numeric", "tokens": "numeric", "score": "numeric",
             "model": "categorical", "prompt": "text"}
    t0 = time.perf_counter()
    report = drift_report(ref, cur, kinds)  # type: ignore[arg-type]
    spent = time.perf_counter() - t0
    return {"drift_rows_per_side": rows, "drift_features": len(kinds),
            "drift_values_total": 2 * rows * len(kinds), "drift_report_s": round(spent, 3),
            "drifted_features": report.drifted_features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=1000)
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--window", type=int, default=15, help="analysis window, minutes")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="drift rows per side and feature")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                         f"{platform.python_version()}",
              **bench_anomalies(args.slices, args.history_days, args.window),
              **bench_drift(args.rows)}
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detectors.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
