"""The judge stage on real parts: sampled traces get stored scores next to the trace,
with the built-in evaluators and with an LLM judge served by a real local
OpenAI-compatible server (good, malformed, slow, 500, 429, down for a while), and the
daily budget stops LLM judgments at the configured spend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from tests.conftest import KEY_A, Broker, Stack, wait_until
from tests.support.chaos import chaos, record_fault
from tests.support.factories import valid_event
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

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


@pytest.fixture(scope="module")
def judge_endpoint() -> Iterator[Any]:
    from tests.support.judge_server import FakeJudgeServer

    with FakeJudgeServer() as server:
        yield server


def _llm_stack(root: Any, broker: Broker, url: str, **extra: str) -> Stack:
    return Stack(root, broker.bootstrap, VIGIL_JUDGE_RATE="1.0",
                 VIGIL_JUDGE_LLM_BASE_URL=url, VIGIL_JUDGE_LLM_MODEL="gpt-4o-mini",
                 VIGIL_JUDGE_LLM_PROVIDER="openai", VIGIL_JUDGE_LLM_TIMEOUT_S="1",
                 VIGIL_JUDGE_LLM_RUBRICS="helpfulness", **extra)


@pytest.fixture(scope="module")
def llm_stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker,
              judge_endpoint: Any) -> Iterator[Stack]:
    s = _llm_stack(tmp_path_factory.mktemp("judge-llm"), broker, judge_endpoint.base_url)
    s.start("sink", "enrich", "judge", "ingest")
    yield s
    s.stop()


def _with_marker(i: int, marker: str) -> pb.TraceEvent:
    event = valid_event(i, completion="The answer is 42.")
    event.prompt[1].content = f"What is the answer? {marker}"
    return event


@pytest.mark.parametrize(("marker", "outcome"), [
    ("[judge:good]", "score"), ("[judge:malformed]", "error"),
    ("[judge:malformed-once]", "score"), ("[judge:slow:3]", "error"),
    ("[judge:500]", "error"), ("[judge:500-once]", "score"), ("[judge:429:1]", "score"),
    ("[judge:bad-score]", "error"),
])
def test_each_judge_answer_ends_as_a_score_or_a_judge_error(llm_stack: Stack, marker: str,
                                                            outcome: str) -> None:
    event = _with_marker(hash(marker) % 1000, marker)
    asyncio.run(_emit(llm_stack.target, [event]))
    [row] = wait_until(lambda: _scores(llm_stack, event.trace_id, "helpfulness"), 120,
                       f"the helpfulness judgment of {marker}")
    if outcome == "score":
        assert row["error"] == "" and 0.0 <= row["score"] <= 1.0 and row["judge_cost"] > 0
        assert row["judge_model"] == "gpt-4o-mini"
    else:
        assert row["score"] is None and row["error"], row


@chaos
def test_judgments_wait_while_the_endpoint_is_down_and_complete_after(
        llm_stack: Stack, judge_endpoint: Any) -> None:
    judge_endpoint.set_down(True)
    events = [_with_marker(500 + i, "[judge:good]") for i in range(5)]
    try:
        asyncio.run(_emit(llm_stack.target, events))
        # stored traces prove the pipeline ran past enrich while the judge waits
        wait_until(lambda: all(llm_stack.get(f"/v1/traces/{e.trace_id}")["calls"]
                               for e in events), 60, "the traces stored")
        assert not any(_scores(llm_stack, e.trace_id, "helpfulness") for e in events)
    finally:
        judge_endpoint.set_down(False)
    rows = wait_until(lambda: [r for e in events
                               for r in _scores(llm_stack, e.trace_id, "helpfulness")]
                      if all(_scores(llm_stack, e.trace_id, "helpfulness") for e in events)
                      else None, 120, "judgments after the endpoint came back")
    record_fault("judge endpoint down, then back", sent=len(events), accepted=len(events),
                 stored=len(rows), distinct=len({r["event_id"] for r in rows}),
                 judged_ok=sum(r["error"] == "" for r in rows))
    assert len(rows) == 5 and all(r["error"] == "" and r["score"] is not None for r in rows)


def test_the_budget_stops_llm_judgments_at_the_configured_spend(
        tmp_path_factory: pytest.TempPathFactory, broker: Broker, judge_endpoint: Any) -> None:
    budget = 0.0004  # a handful of gpt-4o-mini judgments of these traces
    stack = _llm_stack(tmp_path_factory.mktemp("judge-budget"), broker,
                       judge_endpoint.base_url, VIGIL_JUDGE_LLM_CONCURRENCY="1",
                       VIGIL_JUDGE_BUDGET_USD_PER_DAY=str(budget))
    stack.start("sink", "enrich", "judge", "ingest")
    try:
        events = [_with_marker(700 + i, "[judge:good]") for i in range(40)]
        asyncio.run(_emit(stack.target, events))
        sampling = wait_until(
            lambda: (rows := stack.get("/v1/judge/sampling?group_by=app")["slices"])
            and sum(r["eligible"] for r in rows) >= 40 and rows, 120, "all 40 traces counted")
        llm = [r for e in events for r in _scores(stack, e.trace_id, "helpfulness")]
    finally:
        stack.stop()
    costs = sorted(r["judge_cost"] for r in llm)
    spent = sum(costs)
    assert 0 < len(llm) < 40
    assert spent >= budget > spent - costs[-1]  # stopped by the call that crossed it
    assert sum(r["skipped_budget"] for r in sampling) == 40 - len(llm)


def test_negative_feedback_brings_an_unsampled_trace_to_the_judge(
        tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> None:
    root = tmp_path_factory.mktemp("judge-feedback")
    config = root / "judge.yaml"
    config.write_text("default_rate: 0.0\nmin_per_slice: 0\n"
                      "always_include: {latency_outlier_factor: null}\n")
    stack = Stack(root, broker.bootstrap, VIGIL_JUDGE_CONFIG_FILE=str(config))
    stack.start("sink", "enrich", "judge", "ingest")
    try:
        liked, disliked = valid_event(11), valid_event(12)
        asyncio.run(_emit(stack.target, [liked, disliked]))
        wait_until(lambda: all(stack.get(f"/v1/traces/{e.trace_id}")["calls"]
                               for e in (liked, disliked)), 60, "both traces stored")

        async def feedback() -> None:
            async with grpc.aio.insecure_channel(stack.target) as channel:
                stub = ingest_pb2_grpc.IngestServiceStub(channel)
                for event, value in ((liked, 1.0), (disliked, 0.0)):
                    await stub.SubmitFeedback(ingest_pb2.SubmitFeedbackRequest(
                        feedback=pb.FeedbackEvent(trace_id=event.trace_id, value=value,
                                                  kind=pb.FEEDBACK_KIND_THUMBS)),
                        metadata=AUTH_A, timeout=30)

        asyncio.run(feedback())
        judged = wait_until(lambda: _scores(stack, disliked.trace_id), 60,
                            "the disliked trace judged")
        assert {s["sample_reason"] for s in judged} == {"negative_feedback"}
        assert stack.get(f"/v1/traces/{disliked.trace_id}")["feedback"][0]["value"] == 0.0
        assert _scores(stack, liked.trace_id) == []  # rate 0, thumbs up: not judged
    finally:
        stack.stop()


def test_internal_analysis_endpoints_serve_series_and_worst_examples(
        builtin_stack: Stack) -> None:
    import httpx

    from tests.conftest import INTERNAL_TOKEN, PROJECT_A

    stack = builtin_stack
    # its own traces: it must not rely on another test of the module having run first
    # (a random order ran it first and found no traces)
    mine = [valid_event(901, completion=""), valid_event(902, completion="Paris."),
            valid_event(903, completion="Rome.")]
    asyncio.run(_emit(stack.target, mine))
    wait_until(lambda: all(_scores(stack, e.trace_id) for e in mine), 90, "its traces judged")
    now = datetime.now(UTC)
    window = {"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()}
    url = f"{stack.api_url}/internal/analysis"
    auth = {"authorization": f"Bearer {INTERNAL_TOKEN}"}
    assert httpx.get(f"{url}/series", params=window, timeout=30).status_code == 401
    assert httpx.get(f"{url}/series", params=window, timeout=30,
                     headers={"authorization": f"Bearer {KEY_A}"}).status_code == 401
    points = httpx.get(f"{url}/series", params=window, headers=auth, timeout=30).json()["points"]
    assert sum(p["traces"] for p in points if p["project_id"] == PROJECT_A) >= 3
    assert any(p["judgments"] for p in points)
    bad = next(p for p in points if p["mean_score"] is not None and p["mean_score"] < 1)
    examples = httpx.get(f"{url}/examples", headers=auth, timeout=30, params={
        **window, "project_id": bad["project_id"], "app": bad["app"], "model": bad["model"]},
    ).json()["examples"]
    assert examples and all(e["score"] is not None and e["score"] < 0.5 for e in examples)
