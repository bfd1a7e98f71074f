"""Judgments/s of the judge's evaluators: the built-in heuristics and the LLM judge.

Built-ins: demo traces (`DemoWorld`) are enriched like the pipeline does
(PII masked, tokens, cost) and read back as `JudgeInput`s; every built-in
evaluator runs on each (one process, one core), and each one is also timed
alone. LLM judge: `LlmJudge` against the local `FakeJudgeServer` (an aiohttp
server in a separate process, answering at once), at two concurrency
limits: this measures the judge's own overhead, not a model.

    python -m bench.judge_evaluators [--items 10000] [--llm-judgments 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import RESULTS
from vigil.core.prices import PriceBook
from vigil.demo.world import DemoWorld
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.judge.evaluators import make_evaluators, run_builtin
from vigil.judge.llm import LlmJudge, LlmJudgeConfig
from vigil.judge.model import JudgeInput
from vigil.judge.rubric import load_rubric
from vigil_protos.v1 import events_pb2 as pb


def demo_items(n: int, seed: int = 7) -> list[JudgeInput]:
    """`n` demo traces, enriched and read back as the judge stage would see them."""
    world, config = DemoWorld(seed), EnrichConfig(PriceBook())
    now = datetime.now(UTC)
    items: list[JudgeInput] = []
    while len(items) < n:
        batch = pb.TraceBatch(project_id="bench", events=world.next_events(min(500, n), now))
        batch.received_at.FromDatetime(now)
        outcome = enrich_record(batch.SerializeToString(), 0, len(items), config)
        items += [JudgeInput.from_enriched(r) for r in outcome.records]
    return items[:n]


def bench_builtin(items: list[JudgeInput]) -> dict[str, object]:
    evaluators = make_evaluators()
    started = time.perf_counter()
    judgments = [j for item in items for j in run_builtin(item, evaluators)]
    elapsed = time.perf_counter() - started
    per_evaluator = {}
    for evaluator in make_evaluators():
        t0 = time.perf_counter()
        for item in items:
            evaluator.evaluate(item)
        per_evaluator[evaluator.name] = round((time.perf_counter() - t0) / len(items) * 1e6, 2)
    labels = Counter(f"{j.evaluator}:{j.label}" for j in judgments)
    return {
        "builtin_items": len(items),
        "builtin_judgments": len(judgments),
        "builtin_items_per_s": round(len(items) / elapsed),
        "builtin_judgments_per_s": round(len(judgments) / elapsed),
        "builtin_us_per_item_by_evaluator": per_evaluator,
        "builtin_labels": dict(sorted(labels.items())),
    }


async def _llm_run(base_url: str, items: list[JudgeInput], concurrency: int
                   ) -> dict[str, float]:
    config = LlmJudgeConfig(base_url, "gpt-4o-mini", api_key="bench", provider="openai",
                            concurrency=concurrency, timeout_s=30)
    judge = LlmJudge(config, load_rubric("helpfulness"), PriceBook())
    try:
        # open the connections before timing
        await asyncio.gather(*(judge.judge(item) for item in items[:concurrency]))
        started = time.perf_counter()
        judgments = await asyncio.gather(*(judge.judge(item) for item in items))
        elapsed = time.perf_counter() - started
    finally:
        await judge.aclose()
    latencies = sorted(j.latency_ms for j in judgments)
    assert all(j.error == "" for j in judgments), "the fake judge should always answer"
    return {"judgments_per_s": round(len(items) / elapsed),
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
            "cost_usd_per_1k": round(sum(j.cost_usd for j in judgments) / len(items) * 1000, 4)}


@contextmanager
def judge_server_process() -> Iterator[str]:
    """A FakeJudgeServer in its own process (in a thread here, it would share the GIL with
    the judge and measure thread switching); yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.judge_server"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def bench_llm(items: list[JudgeInput], n: int) -> dict[str, object]:
    chosen = [items[i % len(items)] for i in range(n)]
    result: dict[str, object] = {"llm_judgments": n}
    with judge_server_process() as base_url:
        for concurrency in (8, 32):
            for key, value in asyncio.run(_llm_run(base_url, chosen, concurrency)).items():
                result[f"llm_c{concurrency}_{key}"] = value
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000, help="traces for the built-ins")
    parser.add_argument("--llm-judgments", type=int, default=1_000,
                        help="judgments per concurrency level for the LLM judge")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not write {RESULTS / 'judge_evaluators.json'}")
    args = parser.parse_args()
    items = demo_items(args.items)
    result: dict[str, object] = {"machine": f"{os.cpu_count()} cores"}
    result |= bench_builtin(items)
    result |= bench_llm(items, args.llm_judgments)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "judge_evaluators.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:<36}  {value}")


if __name__ == "__main__":
    main()
