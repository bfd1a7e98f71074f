"""Detection quality of the analyzer on labelled scenarios, beside fixed thresholds.

Each seed makes a scenario (`bench.scenario`: 5 slices from 300 down to 4 requests a
minute at the daily peak, clean days then scored days with incidents of six signals)
and replays the analyzer's own code over the scored days with `run_backtest` on an
in-memory reader (Vigil's default settings: one cycle a minute, 15-minute windows,
drift every 15 cycles, cooldowns). The baseline is a fixed threshold per slice and
signal: 1.5x the p99 of the clean days' 15-minute window aggregates (for drops: the
p1 divided by 1.5), through the same alert state machine; it has no drift check.

- An incident is caught when a firing alert names its slice and signal within two
  analyzer windows (30 min) of its start.
- A false page is a firing alert that names no slice with an incident running (or
  ended less than two windows before); any signal on an incident's slice during it
  counts as related, not false.

    python -m bench.backtest [--seeds 1 2 3] [--scored-days 2] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from bench.scenario import DAY, SLICES, START, Incident, Scenario, make_scenario
from bench.stack import RESULTS
from vigil.analyze.alerting import AlertBook, Observation
from vigil.analyze.backtest import run_backtest
from vigil.settings import Settings

WINDOW = 15
SLACK = 2 * WINDOW
# signal -> (metric, aggregate, direction) of the fixed thresholds
FIXED = {"cost_spike": ("cost_usd", "median", "up"),
         "latency_regression": ("latency_p95_ms", "median", "up"),
         "error_burst": ("error_rate", "mean", "up"),
         "quality_drop": ("mean_score", "mean", "down"),
         "traffic_drop": ("requests", "median", "down")}
Page = tuple[str, int, int]      # (signal, slice index, minute offset from START)


def analyzer_pages(scenario: Scenario) -> list[Page]:
    settings = Settings(analyzer_window_minutes=WINDOW)
    result = run_backtest(settings, scenario.reader(), scenario.scored_start, scenario.end)
    apps = [a for a, _, _ in SLICES]
    return [(e.signal, apps.index(e.slice["app"]), _offset(e.event_time))
            for e in result.pages]


def _offset(iso: str) -> int:
    return int((datetime.fromisoformat(iso) - START).total_seconds() // 60)


def fixed_pages(scenario: Scenario) -> list[Page]:
    clean = scenario.clean_days * DAY
    series: dict[tuple[int, str], tuple[np.ndarray, float]] = {}
    for s, f in enumerate(scenario.frames):
        has = f["requests"] > 0
        raw = {"cost_usd": np.where(has, f["cost_usd"], np.nan),
               "latency_p95_ms": np.where(has, f["latency_p95_ms"], np.nan),
               "error_rate": np.where(has, f["errors"] / np.maximum(f["requests"], 1), np.nan),
               "mean_score": np.where(f["judgments"] > 0, f["mean_score"], np.nan),
               "requests": f["requests"]}
        for signal, (metric, how, direction) in FIXED.items():
            rolled = pd.Series(raw[metric]).rolling(WINDOW, min_periods=5)
            agg = (rolled.median() if how == "median" else rolled.mean()).to_numpy()
            past = agg[:clean][~np.isnan(agg[:clean])]
            limit = (1.5 * np.percentile(past, 99) if direction == "up"
                     else np.percentile(past, 1) / 1.5)
            series[(s, signal)] = (agg, float(limit))
    book = AlertBook()
    pages: list[Page] = []
    keys = scenario.keys
    for now in range(clean, len(scenario.frames[0]["requests"]) + 1):
        found = []
        for (s, signal), (agg, limit) in series.items():
            value = agg[now - 1]
            direction = FIXED[signal][2]
            if np.isnan(value) or not (value > limit if direction == "up" else value < limit):
                continue
            found.append(Observation(signal, keys[s], "warning", signal, "",  # type: ignore[arg-type]
                                     float(value), limit, limit))
        at = START + timedelta(minutes=now)
        for event in book.update(found, at):
            if event.status == "firing":
                pages.append((event.signal, keys.index(_key(keys, event.slice)), now))
    return pages


def _key(keys: list[Any], slice_: dict[str, str]) -> Any:
    return next(k for k in keys if k.app == slice_["app"])


def score(incidents: list[Incident], pages: list[Page]) -> dict[str, Any]:
    caught = {i: any(sig == i.signal and s == i.slice_index and i.start <= t <= i.start + SLACK
                     for sig, s, t in pages) for i in incidents}
    false = [p for p in pages if not any(
        p[1] == i.slice_index and i.start <= p[2] <= i.start + i.minutes + SLACK
        for i in incidents)]
    return {"caught": [i.signal for i, ok in caught.items() if ok],
            "missed": [i.signal for i, ok in caught.items() if not ok],
            "false_pages": [p[0] for p in false], "pages": len(pages)}


def run_seed(args: tuple[int, int, int, int]) -> dict[str, Any]:
    seed, clean_days, scored_days, incidents = args
    started = time.perf_counter()
    scenario = make_scenario(seed, clean_days, scored_days, incidents)
    out = {"seed": seed,
           "analyzer": score(scenario.incidents, analyzer_pages(scenario)),
           "fixed": score(scenario.incidents, fixed_pages(scenario)),
           "seconds": round(time.perf_counter() - started, 1)}
    print(f"seed {seed} done in {out['seconds']} s", file=sys.stderr, flush=True)
    return out


def table(runs: list[dict[str, Any]], scored_days: int) -> str:
    weeks = len(runs) * scored_days / 7
    lines = ["| detector | incidents caught | recall | false pages / week | pages / week |",
             "|---|---|---|---|---|"]
    names = {"analyzer": "Vigil analyzer (defaults)",
             "fixed": "fixed thresholds (1.5x p99 of clean days)"}
    for name, label in names.items():
        caught = sum(len(r[name]["caught"]) for r in runs)
        total = caught + sum(len(r[name]["missed"]) for r in runs)
        false = sum(len(r[name]["false_pages"]) for r in runs)
        pages = sum(r[name]["pages"] for r in runs)
        lines.append(f"| {label} | {caught} of {total} | {caught / total:.0%} | "
                     f"{false / weeks:.1f} | {pages / weeks:.1f} |")
    lines += ["", "| signal | caught by the analyzer | by fixed thresholds | "
              "false pages / week, analyzer | fixed |", "|---|---|---|---|---|"]
    for signal in sorted({s for r in runs for s in r["analyzer"]["caught"]
                          + r["analyzer"]["missed"] + r["analyzer"]["false_pages"]
                          + r["fixed"]["false_pages"]}):
        cells = []
        for name in names:
            c = Counter(s for r in runs for s in r[name]["caught"])[signal]
            m = Counter(s for r in runs for s in r[name]["missed"])[signal]
            cells.append(f"{c} of {c + m}")
        falses = [Counter(s for r in runs for s in r[n]["false_pages"])[signal] / weeks
                  for n in names]
        lines.append(f"| {signal} | {cells[0]} | {cells[1]} | {falses[0]:.1f} | "
                     f"{falses[1]:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--clean-days", type=int, default=3)
    parser.add_argument("--scored-days", type=int, default=2)
    parser.add_argument("--incidents", type=int, default=8, help="per seed")
    parser.add_argument("--jobs", type=int, default=2, help="seeds run in parallel")
    args = parser.parse_args()
    work = [(s, args.clean_days, args.scored_days, args.incidents) for s in args.seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(run_seed, work))
    text = table(runs, args.scored_days)
    print(f"seeds {args.seeds}; {len(SLICES)} slices (peak "
          f"{'/'.join(f'{p:g}' for _, _, p in SLICES)} requests a minute); "
          f"{args.clean_days} clean + {args.scored_days} scored days each; "
          f"{args.incidents} incidents per seed\n")
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "backtest.json").write_text(json.dumps(
        {"args": vars(args), "runs": runs, "table": text}, indent=2) + "\n")


if __name__ == "__main__":
    main()
