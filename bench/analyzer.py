"""Analysis cycle time over 1M traces in the analysis window.

Loads N synthetic traces (default 1,000,000) into the last 15 minutes of a fresh
embedded store, plus a day of lighter history, across 40 slices (4 apps x 10
models), then times the analyzer's cycle: the per-minute series query, the
detectors on every slice and signal, and a drift check on every slice (samples of
2,000 per window). The store is queried in-process with the same SQL the read
API's internal endpoints run, so the HTTP hop is not in the figure.

    python -m bench.analyzer [--traces 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.stack import RESULTS
from vigil.analyze.worker import Analyzer
from vigil.api.internal import sample_rows, series_rows
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate
from vigil.store.tables import TRACE_COLUMNS

APPS = ["support-bot", "code-assistant", "summarizer", "sales-writer"]
MODELS = [f"model-{i}" for i in range(10)]


class DirectReader:
    """The analyzer's reader, straight on the store (what the API endpoints run)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return series_rows(self.store, since.isoformat(), until.isoformat())

    def sample(self, key: Any, since: datetime, until: datetime, limit: int) -> list[dict]:
        return sample_rows(self.store, key.project_id, key.app, key.model, since.isoformat(),
                           until.isoformat(), limit)

    def examples(self, obs: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return []

    def spend(self, budget: Any, since: datetime, until: datetime) -> tuple[float, float]:
        return 0.0, 0.0

    def ticket_states(self) -> dict[str, tuple[str, str]]:
        return {}


def rows(n: int, start: datetime, seconds: float, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(n):
        t = start + timedelta(seconds=rng.random() * seconds)
        latency = rng.lognormvariate(6.6, 0.3)
        record = {c: "" for c in TRACE_COLUMNS}
        record.update({
            "project_id": "bench", "start_time": t.isoformat(),
            "end_time": (t + timedelta(milliseconds=latency)).isoformat(),
            "received_at": t.isoformat(), "event_id": f"{i:x}-{rng.getrandbits(64):x}",
            "trace_id": f"{rng.getrandbits(128):032x}", "app": rng.choice(APPS),
            "model": rng.choice(MODELS), "provider": "openai", "params": "{}",
            "prompt": '[{"role":"user","content":"question about an order"}]',
            "completion": "an answer", "input_tokens": rng.randint(50, 2000),
            "output_tokens": rng.randint(10, 500), "cached_input_tokens": 0,
            "tokens_estimated": False, "input_cost": 0.001, "output_cost": 0.002,
            "total_cost": 0.003, "cost_known": True, "latency_ms": latency,
            "status": "error" if rng.random() < 0.01 else "ok", "attributes": {},
            "pii_masked": {}, "raw_partition": 0, "raw_offset": i, "finish_reason": "stop",
        })
        out.append(orjson.dumps(record))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="vigil-bench-analyzer-"),
                        analyzer_history_days=1, analyzer_window_minutes=15,
                        analyzer_drift_every_cycles=1, drift_min_samples=200)
    store = open_store(settings)
    migrate(store, settings.retention_days)
    rng = random.Random(5)
    started = time.perf_counter()
    batches = [(args.traces, now - timedelta(minutes=15), 15 * 60),
               (args.traces // 10, now - timedelta(days=1), 86400 - 15 * 60)]
    for n, start, span in batches:
        for at in range(0, n, 50_000):
            lines = rows(min(50_000, n - at), start, span, rng)
            store.insert_json_lines("traces", TRACE_COLUMNS, b"\n".join(lines))
    load_s = time.perf_counter() - started
    analyzer = Analyzer(settings, DirectReader(store))  # type: ignore[arg-type]
    timings = []
    for _ in range(2):
        t = time.perf_counter()
        events, _ = analyzer.cycle(now)
        timings.append(time.perf_counter() - t)
    result = {"traces_in_window": args.traces, "history_traces": args.traces // 10,
              "slices": len(analyzer.history.slices()), "load_seconds": round(load_s, 1),
              "first_cycle_seconds": round(timings[0], 2),
              "next_cycle_seconds": round(timings[1], 2), "alert_events": len(events),
              "drift_reports": len(analyzer.drift_rows)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "analyzer.json").write_text(json.dumps(result, indent=2))
    for k, v in result.items():
        print(f"{k:<22} {v}")


if __name__ == "__main__":
    main()
