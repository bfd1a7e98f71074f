"""The judge SIGKILLed under load and restarted: every sampled trace is judged, and
each judgment is stored once (reliability suite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Broker, Stack, wait_until
from tests.support.chaos import record_fault
from tests.support.load import Load

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
EVALUATOR = "empty_answer"  # a built-in that judges every trace


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("judge-kill"), broker.bootstrap, VIGIL_JUDGE_RATE="1.0",
              VIGIL_SINK_BATCH_ROWS="500", VIGIL_SINK_BATCH_SECONDS="0.2")
    s.start("sink", "enrich", "judge", "ingest")
    yield s
    s.stop()


def _judgments(stack: Stack) -> dict[str, Any]:
    """The evaluator's stored judgment count and the distinct events among them."""
    body = stack.get(f"/v1/scores?evaluator={EVALUATOR}&limit=1000&hours=1")
    count = sum(e["judgments"] for e in body["evaluators"])
    return {"count": count, "distinct": len({r["event_id"] for r in body["lowest"]})}


def test_the_judge_killed_mid_stream_judges_every_sampled_trace_once(stack: Stack) -> None:
    load = Load(stack.target, batches=40, size=25).start()  # 1,000 traces, all sampled
    judge = stack.service("judge")
    for threshold in (250, 600):
        wait_until(lambda t=threshold: load.acked >= t, 90, f"{threshold} events accepted")
        wait_until(lambda: _judgments(stack)["count"], 90, "judgments stored")
        judge.kill()
        judge.start()
    assert load.done.wait(120) and not load.errors, load.errors
    assert load.acked == load.sent == 1000

    judged = wait_until(lambda: (j := _judgments(stack))["count"] >= 1000 and j, 120,
                        "every trace judged")
    stats = stack.get("/v1/stats")
    record_fault("judge SIGKILLed 2 times under load", sent=load.sent, accepted=load.acked,
                 stored=judged["count"], distinct=judged["distinct"],
                 traces_stored=stats["traces"])
    assert (judged["count"], judged["distinct"]) == (1000, 1000)
    assert (stats["traces"], stats["distinct_event_ids"]) == (1000, 1000)
