"""How long each dashboard page's reads take over 1M and 10M traces in the embedded store.

Fills a fresh embedded store with N synthetic traces spread over the last 7 days
(4 apps x 10 models x 3 prompt versions, sessions of 8 calls, 1,000 users, 3% errors),
judge scores on 5% of them and feedback on 1%, then serves the read API on a real
uvicorn server and calls, over HTTP, exactly what each page calls with its default
filters (last 24 hours, per-minute buckets), plus the 7-day range. Each read runs once
to warm up, then 5 times; the median is reported. A page's time is the sum of its reads
(Streamlit runs them one after another).

    python -m bench.dashboard_queries [--traces 1000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.stack import RESULTS, free_port
from vigil.access.keyring import KeyRing
from vigil.api.app import create_app
from vigil.core.budgets import Budget
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate

KEY = "bench-key"
DAY_MS = 86_400_000
CHUNK = 1_000_000
RUNS = 5

TRACES_SQL = """
INSERT INTO traces (project_id, start_time, end_time, event_id, trace_id, span_id, session_id,
    user_id, app, environment, provider, model, prompt, completion, prompt_template_id,
    prompt_template_version, input_tokens, output_tokens, total_cost, cost_known, latency_ms,
    status, received_at)
SELECT 'bench', now64(3) - toIntervalMillisecond(number * {step:UInt64}) AS t, t,
    concat('ev-', toString(number)), concat('tr-', toString(number)), 's',
    concat('sess-', toString(intDiv(number, 8))), concat('user-', toString(number % 1000)),
    ['support-bot', 'code-assistant', 'summarizer', 'sales-writer'][number % 4 + 1],
    if(number % 10 = 0, 'staging', 'prod'), 'openai', concat('model-', toString(number % 10)),
    concat('Customer asks about order ', toString(number % 100000),
           ': where is my parcel, it was due last week and the tracking page is empty.'),
    concat('I am sorry for the delay. Order ', toString(number % 100000),
           ' left our warehouse and should arrive within two working days.'),
    'answer', concat('v', toString(number % 3 + 1)), 100 + number % 400, 50 + number % 300,
    (100 + number % 400) * 0.000001, true, 200 + (number * 7919) % 3000,
    if(number % 33 = 0, 'error', 'ok'), t
FROM numbers({first:UInt64}, {count:UInt64})
"""
SCORES_SQL = """
INSERT INTO scores (project_id, trace_start_time, score_id, trace_id, event_id, app,
    environment, model, prompt_template_id, prompt_template_version, evaluator, score,
    judged_at)
SELECT 'bench', now64(3) - toIntervalMillisecond(number * {step:UInt64}) AS t,
    concat('sc-', toString(number)), concat('tr-', toString(number)),
    concat('ev-', toString(number)),
    ['support-bot', 'code-assistant', 'summarizer', 'sales-writer'][number % 4 + 1],
    if(number % 10 = 0, 'staging', 'prod'), concat('model-', toString(number % 10)), 'answer',
    concat('v', toString(number % 3 + 1)), ['helpfulness', 'refusal', 'empty_answer'][
        intDiv(number, 20) % 3 + 1], ((number * 104729) % 1000) / 1000, t
FROM numbers({first:UInt64}, {count:UInt64}) WHERE number % 20 = 0
"""
FEEDBACK_SQL = """
INSERT INTO feedback (project_id, time, feedback_id, trace_id, kind, value, comment, user_id,
    received_at)
SELECT 'bench', now64(3) - toIntervalMillisecond(number * {step:UInt64}) AS t,
    concat('fb-', toString(number)), concat('tr-', toString(number)), 'thumbs',
    if(number % 7 = 0, 0, 1), '', concat('user-', toString(number % 1000)), t
FROM numbers({first:UInt64}, {count:UInt64}) WHERE number % 100 = 0
"""


def fill(store: Store, n: int) -> float:
    step = max(1, 7 * DAY_MS // n)
    started = time.perf_counter()
    for first in range(0, n, CHUNK):
        params = {"step": step, "first": first, "count": min(CHUNK, n - first)}
        for sql in (TRACES_SQL, SCORES_SQL, FEEDBACK_SQL):
            store.command(_bind(sql, params))
        print(f"  loaded {min(first + CHUNK, n):,} / {n:,} traces", flush=True)
    store.command("OPTIMIZE TABLE traces FINAL")
    return time.perf_counter() - started


def _bind(sql: str, params: dict[str, int]) -> str:
    for name, value in params.items():
        sql = sql.replace(f"{{{name}:UInt64}}", str(int(value)))
    return sql


def pages(newest_trace: str, newest_session: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    day: dict[str, Any] = {"hours": 24}
    slices = ("/v1/slices", day)
    return {
        "Overview": [slices, ("/v1/overview", day),
                     ("/v1/timeseries/traffic", {**day, "interval": "minute"}),
                     ("/v1/breakdown/app", day)],
        "Cost": [slices, ("/v1/overview", day), ("/v1/budgets", {}),
                 ("/v1/breakdown/model", {**day, "limit": 25}),
                 ("/v1/breakdown/app", {**day, "limit": 25}),
                 ("/v1/breakdown/user", {**day, "limit": 25}),
                 ("/v1/timeseries/traffic", {**day, "interval": "minute"})],
        "Quality": [slices, ("/v1/scores", day),
                    *[("/v1/timeseries/quality", {**day, "interval": "minute",
                                                  "evaluator": e})
                      for e in ("empty_answer", "helpfulness", "refusal")],
                    ("/v1/compare", {**day, "dimension": "prompt_version", "metric": "score"}),
                    ("/v1/judge/sampling", {**day, "group_by": "app"})],
        "Alerts": [slices, ("/v1/alerts", {})],
        "Tickets": [slices, ("/v1/tickets", {})],
        "Traces": [slices, ("/v1/traces", {**day, "limit": 50}),
                   (f"/v1/traces/{newest_trace}", {}),
                   (f"/v1/sessions/{newest_session}", {})],
        "Traces (text search)": [("/v1/traces", {**day, "limit": 50, "q": "parcel 9999"})],
        "Drift": [slices, ("/v1/drift/features", day), ("/v1/drift/reports", day)],
        "Overview, 7 days": [("/v1/slices", {"hours": 168}), ("/v1/overview", {"hours": 168}),
                             ("/v1/timeseries/traffic", {"hours": 168, "interval": "hour"}),
                             ("/v1/breakdown/app", {"hours": 168})],
    }


def timed(call: Callable[[], httpx.Response]) -> float:
    runs = []
    resp = call()
    resp.raise_for_status()
    for _ in range(RUNS):
        started = time.perf_counter()
        call().raise_for_status()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def measure(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-dash-") as tmp:
        store = open_store(Settings(data_dir=Path(tmp), clickhouse_database="bench"))
        migrate(store, 90)
        print(f"loading {n:,} traces (7 days) ...", flush=True)
        load_s = fill(store, n)
        app = create_app(store, KeyRing.parse(f"{KEY}=bench"), "",
                         [Budget(project="bench", period="month", limit_usd=1000)])
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                              headers={"Authorization": f"Bearer {KEY}"})
        try:
            _wait(client)
            newest = client.get("/v1/traces", params={"limit": 1}).json()["traces"][0]
            result: dict[str, Any] = {"traces": n, "load_s": round(load_s, 1), "pages": {}}
            for page, reads in pages(newest["trace_id"], newest["session_id"]).items():
                per_read = {}
                for path, params in reads:
                    ms = timed(lambda p=path, q=params: client.get(p, params=q))
                    per_read[f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"] = (
                        round(ms, 1))
                total = sum(per_read.values())
                result["pages"][page] = {"total_ms": round(total, 1),
                                         "slowest_read_ms": max(per_read.values()),
                                         "reads": per_read}
                print(f"  {page:<24} {total:8.1f} ms  (slowest read "
                      f"{max(per_read.values()):.1f} ms)", flush=True)
            return result
        finally:
            client.close()
            server.should_exit = True
            thread.join(10)
            store.close()


def _wait(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError("the read API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="store sizes to measure (default: 1M and 10M)")
    args = parser.parse_args()
    results = [measure(n) for n in args.traces]
    print("\npage                        " + "".join(f"{r['traces']:>14,}" for r in results))
    for page in results[0]["pages"]:
        print(f"{page:<28}" + "".join(f"{r['pages'][page]['total_ms']:>11.1f} ms"
                                      for r in results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "dashboard_queries.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
