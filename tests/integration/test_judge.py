"""The judge stage on real parts: sampled traces get stored scores next to the trace,
with the built-in evaluators and with an LLM judge served by a real local
OpenAI-compatible server (good, malformed, slow, 500, 429, down for a while), and the
daily budget stops LLM judgments at the configured spend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.conftest import KEY_A, Broker, Stack, wait_until
from tests.factories import valid_event
from vigil.v1 import events_pb2 as pb
from vigil.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = pytest.mark.integration
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)


async def _emit(target: str, events: list[pb.TraceEvent]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        response = await ingest_pb2_grpc.IngestServiceStub(channel).EmitBatch(
            ingest_pb2.EmitBatchRequest(events=events), metadata=AUTH_A, timeout=30)
        assert response.accepted == len(events), response


def _scores(stack: Stack, trace_id: str, evaluator: str | None = None) -> list[dict[str, Any]]:
    try:
        scores = stack.get(f"/v1/traces/{trace_id}")["scores"]
    except Exception:  # not stored yet
        return []
    return [s for s in scores if evaluator is None or s["evaluator"] == evaluator]


@pytest.fixture(scope="module")
def builtin_stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("judge-builtin"), broker.bootstrap,
              VIGIL_JUDGE_RATE="1.0")
    s.start("sink", "enrich", "judge", "ingest")
    yield s
    s.stop()


def test_builtin_evaluators_score_sampled_traces(builtin_stack: Stack) -> None:
    stack = builtin_stack
    empty = valid_event(1, completion="")
    refusal = valid_event(2, completion="I'm sorry, but I can't help with that request.")
    fine = valid_event(3, completion="Paris is the capital of France.")
    fine.prompt[1].content = "What is the capital of France?"
    asyncio.run(_emit(stack.target, [empty, refusal, fine]))

    def labels(event: pb.TraceEvent) -> dict[str, Any]:
        return {s["evaluator"]: s for s in _scores(stack, event.trace_id)}

    got = wait_until(lambda: all(labels(e) for e in (empty, refusal, fine)) and
                     [labels(e) for e in (empty, refusal, fine)], 90, "scores stored")
    by_empty, by_refusal, by_fine = got
    assert by_empty["empty_answer"]["score"] == 0.0
    assert by_refusal["refusal"]["score"] == 0.0
    assert by_fine["empty_answer"]["score"] == 1.0 and by_fine["refusal"]["score"] == 1.0
    assert all(s["sample_reason"] in ("sampled", "min_per_slice") for s in by_fine.values())

    series = wait_until(lambda: stack.get(
        "/v1/timeseries/quality?interval=hour&group_by=model&evaluator=empty_answer")["points"],
        60, "a quality series")
    assert sum(p["judgments"] for p in series) >= 3
    sampling = wait_until(lambda: (rows := stack.get("/v1/judge/sampling?group_by=app")
                                   ["slices"]) and sum(r["eligible"] for r in rows) >= 3 and
                          rows, 60, "judge sampling counts")
    assert sum(r["judged"] for r in sampling) >= 3
