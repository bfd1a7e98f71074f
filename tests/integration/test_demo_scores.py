"""A short demo run on real parts (broker, ingest, enrich, judge, sink with its store and
read API, and the demo's stand-in LLM judge as its own process) gives judge scores that
vary across slices, lowest on the slice whose scheduled quality incident is on, and the
scores say that they come from the demo judge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import KEY_A, Broker, Service, Stack, free_port, wait_until
from vigil.demo.judge import DEMO_JUDGE_MODEL, DEMO_PREFIX
from vigil.demo.traffic import run_demo

pytestmark = pytest.mark.integration
INCIDENT_MODEL = "acme-support-ft-v3"  # support-bot's fine-tune, in incident minutes 2-11


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("demo-scores")
    port = free_port()
    stack = Stack(root, broker.bootstrap, VIGIL_JUDGE_RATE="0.5",
                  VIGIL_JUDGE_LLM_BASE_URL=f"http://127.0.0.1:{port}/v1",
                  VIGIL_JUDGE_LLM_MODEL=DEMO_JUDGE_MODEL, VIGIL_JUDGE_LLM_PROVIDER="vigil-demo",
                  VIGIL_JUDGE_LLM_RUBRICS="helpfulness")
    judge = Service("demo-judge", ["demo-judge", "--listen", f"127.0.0.1:{port}"], stack.env,
                    root / "demo-judge.log")
    stack.services["demo-judge"] = judge.start()
    stack.start("sink", "enrich", "judge", "ingest")
    yield stack
    stack.stop()


def _by_model(stack: Stack) -> dict[str, dict[str, Any]]:
    points = stack.get("/v1/timeseries/quality?hours=2&interval=hour&group_by=model"
                       "&evaluator=helpfulness")["points"]
    return {p["slice"]: p for p in points}


def test_a_short_demo_run_gives_varying_scores_lowest_in_the_incident(
        demo_stack: Stack) -> None:
    # The schedule started 5 minutes ago: the quality incident of support-bot's fine-tune
    # is on for the whole run, the other slices are as usual.
    start = datetime.now(UTC) - timedelta(minutes=5)
    stats = asyncio.run(run_demo(demo_stack.target, KEY_A, rate=40, duration_s=30,
                                 schedule_start=start))
    assert stats.accepted > 600 and stats.rejected == 0  # the last batch may be cut short

    def judged_enough() -> dict[str, dict[str, Any]] | None:
        slices = _by_model(demo_stack)
        full = {m: p for m, p in slices.items() if p["judgments"] >= 25}
        return full if len(full) >= 5 and INCIDENT_MODEL in full else None

    slices = wait_until(judged_enough, 240, "helpfulness scores on five models")
    means = {m: p["mean_score"] for m, p in slices.items()}
    others = [s for m, s in means.items() if m != INCIDENT_MODEL]
    assert means[INCIDENT_MODEL] < min(others) - 0.15, means
    assert max(others) - min(others) > 0.01, means  # no two slices score the same
    assert all(p["judge_errors"] == 0 for p in slices.values())

    scores = demo_stack.get("/v1/scores?hours=2&evaluator=helpfulness&limit=20")
    assert scores["lowest"], scores
    assert all(r["rationale"].startswith(DEMO_PREFIX) for r in scores["lowest"])
    # a judged call that succeeded: the built-in evaluators scored it beside the demo judge
    ok = demo_stack.get("/v1/traces?hours=2&status=ok&limit=50")["traces"]
    judged = next(d["scores"] for t in ok
                  if (d := demo_stack.get(f"/v1/traces/{t['trace_id']}"))["scores"])
    assert {s["evaluator"] for s in judged} >= {"helpfulness", "refusal", "empty_answer"}
    assert {s["judge_model"] for s in judged if s["evaluator"] == "helpfulness"} == {
        DEMO_JUDGE_MODEL}
