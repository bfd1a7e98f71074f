"""What `VigilClient.get_prompt()` costs: from the cache, and a first fetch over loopback.

Starts a local broker, `vigil api` (the registry on its embedded store) and `vigil ingest`
(whose PromptService answers from that API) as processes, pushes a prompt and labels it,
then measures on this process:

- **cache**: N get_prompt calls of a cached prompt, each timed with perf_counter_ns
  (median, p99), without a rollout and with one running on the label (the variant is
  computed per call: one SHA-256);
- **first fetch**: M new clients, each timing its first get_prompt (a new gRPC channel,
  the ingest hop, the read API and three store reads), p50 / p99.

Targets: cache median < 5 µs, first fetch p99 < 20 ms. Writes bench/results/prompts.json.

    python -m bench.prompts [--calls 100000] [--first-fetches 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.sdk_overhead import summary, time_calls
from bench.stack import KEY, RESULTS, free_port
from vigil.kafka.broker import start_broker, wait_for_port
from vigil_sdk import VigilClient

PROMPT = {"messages": [{"role": "system", "content": "You answer questions about orders."},
                       {"role": "user", "content": "Where is order {{order_id}}?"}],
          "model": "gpt-4o-mini", "params": {"temperature": 0.2, "max_tokens": 200}}


@contextmanager
def registry(root: Path) -> Iterator[tuple[str, str]]:
    """Broker, `vigil api` and `vigil ingest`; yields (ingest address, API URL)."""
    broker_port, api_port, ingest_port = free_port(), free_port(), free_port()
    broker = start_broker("127.0.0.1", broker_port, root / "broker.log")
    api_url = f"http://127.0.0.1:{api_port}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
           "VIGIL_DATA_DIR": str(root / "data"), "VIGIL_API_KEYS": f"{KEY}=bench",
           "VIGIL_API_LISTEN": f"127.0.0.1:{api_port}", "VIGIL_API_URL": api_url,
           "VIGIL_INGEST_LISTEN": f"127.0.0.1:{ingest_port}", "VIGIL_OTLP_HTTP_LISTEN": "",
           "VIGIL_INTERNAL_TOKEN": "bench-internal-token", "VIGIL_LOG_LEVEL": "WARNING"}
    procs = []
    try:
        for name in ("api", "ingest"):
            with open(root / f"{name}.log", "ab") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "vigil", name], env=env,
                                              stdout=log, stderr=subprocess.STDOUT))
        wait_for_port("127.0.0.1", api_port, 240)
        wait_for_port("127.0.0.1", ingest_port, 240)
        yield f"127.0.0.1:{ingest_port}", api_url
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        broker.terminate()
        broker.wait(30)


def post(api_url: str, path: str, body: dict[str, Any]) -> None:
    deadline = time.monotonic() + 120
    while True:  # the API opens its store and migrates before it answers
        try:
            answer = httpx.post(f"{api_url}/v1/prompts{path}", json=body, timeout=30,
                                headers={"authorization": f"Bearer {KEY}"})
            answer.raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def cached(endpoint: str, calls: int, spill: Path, rollout: bool) -> dict[str, Any]:
    with VigilClient(KEY, endpoint, app="bench", spill_dir=spill) as client:
        first = client.get_prompt("orders", user_id="u-0")
        assert first is not None and not first.is_fallback, client.stats()
        time_calls(min(calls, 5000), lambda i: client.get_prompt("orders", user_id="u-42"))
        users = [f"u-{i % 1000}" for i in range(calls)]
        samples = time_calls(calls, lambda i: client.get_prompt("orders", user_id=users[i]))
        stats = dict(client.stats().prompts)
    return {**summary(samples), "rollout_running": rollout, "stats": stats}


def first_fetches(endpoint: str, n: int, spill: Path) -> dict[str, Any]:
    samples = []
    for i in range(n):
        with VigilClient(KEY, endpoint, app="bench", spill_dir=spill / str(i),
                         prompt_timeout_s=10) as client:
            started = time.perf_counter_ns()
            prompt = client.get_prompt("orders")
            samples.append(time.perf_counter_ns() - started)
            assert prompt is not None and not prompt.is_fallback, client.stats()
    result = summary(samples)
    return {"p50_ms": round(result["median_us"] / 1000, 2),
            "p99_ms": round(result["p99_us"] / 1000, 2),
            "max_ms": round(result["max_us"] / 1000, 2), "fetches": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--calls", type=int, default=100_000, help="timed cached calls")
    parser.add_argument("--first-fetches", type=int, default=200, help="new clients timed")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-prompts-bench-"))
    try:
        with registry(root) as (endpoint, api_url):
            post(api_url, "/orders/versions", PROMPT)
            post(api_url, "/orders/versions", {**PROMPT, "model": "gpt-4o"})
            post(api_url, "/orders/labels/production", {"version": 1})
            first_fetches(endpoint, 5, root / "warm")  # imports, the API's first queries
            fetch = first_fetches(endpoint, args.first_fetches, root / "first")
            plain = cached(endpoint, args.calls, root / "plain", rollout=False)
            post(api_url, "/orders/rollouts/production", {"to_version": 2, "percent": 20})
            split = cached(endpoint, args.calls, root / "split", rollout=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "cache_median_us": plain["median_us"], "cache_p99_us": plain["p99_us"],
        "cache_with_rollout_median_us": split["median_us"],
        "cache_with_rollout_p99_us": split["p99_us"],
        "first_fetch_p50_ms": fetch["p50_ms"], "first_fetch_p99_ms": fetch["p99_ms"],
        "first_fetch_max_ms": fetch["max_ms"], "first_fetches": fetch["fetches"],
        "cached_calls": args.calls, "cache_stats": plain["stats"],
        "targets": {"cache_median_us": 5, "first_fetch_p99_ms": 20},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "prompts.json").write_text(json.dumps(report, indent=2) + "\n")
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
