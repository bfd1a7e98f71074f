"""LlmJudge against a real local OpenAI-compatible server (tests.support.judge_server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import pytest

from tests.support.judge_server import FakeJudgeServer
from vigil.core.prices import PriceBook, PriceOverride
from vigil.judge.llm import LlmJudge, LlmJudgeConfig
from vigil.judge.llm.breaker import CircuitBreaker
from vigil.judge.llm.prompt import render_trace
from vigil.judge.llm.reply import MAX_RATIONALE, parse_verdict, retry_after_s
from vigil.judge.model import JudgeInput, Judgment
from vigil.judge.rubric import load_rubric

T = TypeVar("T")
PRICES = PriceBook([PriceOverride("judgeco", "judge-1", 1.0, 2.0)])  # USD per Mtok


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def eventually(probe: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll `probe` until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def config(url: str, **overrides: Any) -> LlmJudgeConfig:
    settings: dict[str, Any] = {
        "model": "judge-1", "api_key": "test-key", "provider": "judgeco", "timeout_s": 5,
        "max_retries": 2, "concurrency": 8, "breaker_failures": 100, "breaker_cooldown_s": 0.05,
        "backoff_initial_s": 0.01, "backoff_max_s": 0.05}
    return LlmJudgeConfig(url, **{**settings, **overrides})


def trace(question: str = "Where is my order?", answer: str = "It ships tomorrow.",
          context: str = "") -> JudgeInput:
    return JudgeInput("trace-1", "event-1", "proj", "support-bot", "gpt-4o-mini",
                      [{"role": "system", "content": "You are a support bot."},
                       {"role": "user", "content": question}],
                      answer, {}, "ok", {}, context)


def judging(server: FakeJudgeServer, item: JudgeInput, **overrides: Any
            ) -> tuple[Judgment, dict[str, int]]:
    async def go() -> tuple[Judgment, dict[str, int]]:
        judge = LlmJudge(config(server.base_url, **overrides), load_rubric("helpfulness"),
                         PRICES)
        try:
            return await judge.judge(item), judge.stats()
        finally:
            await judge.aclose()
    return run(go())


def with_judge(server: FakeJudgeServer, body: Callable[[LlmJudge], Awaitable[T]],
               **overrides: Any) -> T:
    async def go() -> T:
        judge = LlmJudge(config(server.base_url, **overrides), load_rubric("helpfulness"),
                         PRICES)
        try:
            return await body(judge)
        finally:
            await judge.aclose()
    return run(go())


# --- answers ----------------------------------------------------------------------------
def test_a_good_reply_becomes_a_scored_judgment(judge_server: FakeJudgeServer) -> None:
    item = trace(context="Orders ship within 2 days.")
    judgment, stats = judging(judge_server, item)
    assert judgment.score == 0.8 and judgment.error == ""
    assert (judgment.evaluator, judgment.version) == ("helpfulness", "1")
    assert (judgment.label, judgment.judge_model) == ("helpful", "judge-1")
    assert judgment.rationale == "Answers the question directly and correctly."
    assert judgment.input_tokens > 0 and judgment.output_tokens > 0
    expected_cost = (judgment.input_tokens * 1.0 + judgment.output_tokens * 2.0) / 1e6
    assert judgment.cost_usd == pytest.approx(expected_cost)
    assert judgment.latency_ms > 0
    assert stats == {"calls": 1, "judged": 1, "errors": 0, "retries": 0, "unavailable": 0,
                     "breaker_opens": 0}
    [request] = judge_server.requests
    assert request.authorization == "Bearer test-key"
    body = request.body
    assert body["model"] == "judge-1" and body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system == {"role": "system", "content": load_rubric("helpfulness").text}
    assert user["role"] == "user"
    for part in ("Where is my order?", "You are a support bot.", "It ships tomorrow.",
                 "Orders ship within 2 days.", "<<<ANSWER", "<<<CONTEXT"):
        assert part in user["content"]


def test_the_score_is_the_judges(judge_server: FakeJudgeServer) -> None:
    judgment, _ = judging(judge_server, trace("[judge:score:0.25] Where is my order?"))
    assert (judgment.score, judgment.label) == (0.25, "unhelpful")


@pytest.mark.parametrize(("marker", "reason"), [
    ("malformed", "malformed response: content is not JSON"),
    ("bad-score", "malformed response: score 7 is outside [0, 1]"),
    ("400", "HTTP 400: "),
    ("500", "HTTP 500: "),
])
def test_a_persistent_failure_is_retried_then_a_judge_error(
        judge_server: FakeJudgeServer, marker: str, reason: str) -> None:
    judgment, stats = judging(judge_server, trace(f"[judge:{marker}] Where is my order?"),
                              max_retries=2)
    assert judgment.score is None and judgment.label == ""
    assert judgment.error.startswith(reason), judgment.error
    assert "gave up after 3 attempts" in judgment.error
    assert len(judge_server.requests) == 3
    assert stats["errors"] == 1 and stats["retries"] == 2 and stats["judged"] == 0


def test_paid_malformed_replies_add_up_in_tokens_and_cost(judge_server: FakeJudgeServer) -> None:
    judgment, _ = judging(judge_server, trace("[judge:malformed]"), max_retries=1)
    assert judgment.error and judgment.cost_usd > 0
    first, second = judge_server.requests
    assert first.body == second.body
    one_call = sum(len(m["content"]) for m in first.body["messages"]) // 4  # the server's count
    assert judgment.input_tokens == 2 * one_call


@pytest.mark.parametrize("marker", ["malformed-once", "500-once"])
def test_a_failure_once_is_retried_to_a_score(judge_server: FakeJudgeServer,
                                              marker: str) -> None:
    judgment, stats = judging(judge_server, trace(f"[judge:{marker}] Where is my order?"))
    assert judgment.score == 0.8 and judgment.error == ""
    assert [r.status for r in judge_server.requests] == [
        500 if marker == "500-once" else 200, 200]
    assert stats["retries"] == 1 and stats["errors"] == 0


def test_a_reply_slower_than_the_timeout_is_retried_then_an_error(
        judge_server: FakeJudgeServer) -> None:
    judgment, stats = judging(judge_server, trace("[judge:slow:5]"), timeout_s=0.2,
                              max_retries=1)
    assert judgment.score is None and judgment.error.startswith("timed out after 0.2 s")
    assert len(judge_server.requests) == 2 and stats["retries"] == 1


def test_slow_once_then_fast_gives_a_score(judge_server: FakeJudgeServer) -> None:
    judgment, _ = judging(judge_server, trace("[judge:slow-once:5]"), timeout_s=0.2)
    assert judgment.score == 0.8


def test_429_waits_for_retry_after_then_succeeds(judge_server: FakeJudgeServer) -> None:
    judgment, stats = judging(judge_server, trace("[judge:429:1] Where is my order?"))
    assert judgment.score == 0.8
    first, second = judge_server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # the server's own clock
    assert stats["retries"] == 1


def test_429_every_time_is_a_judge_error(judge_server: FakeJudgeServer) -> None:
    judgment, _ = judging(judge_server, trace("[judge:429-always:0.05]"), max_retries=1)
    assert judgment.error.startswith("HTTP 429: rate limited")


# --- the endpoint down ------------------------------------------------------------------
def test_endpoint_down_then_back_completes_the_judgment(judge_server: FakeJudgeServer) -> None:
    judge_server.set_down(True)

    async def body(judge: LlmJudge) -> Judgment:
        task = asyncio.create_task(judge.judge(trace()))
        await eventually(lambda: judge.stats()["unavailable"] >= 5, "failed connections")
        assert not task.done()  # waiting, not failing: backpressure
        assert judge.stats()["breaker_opens"] >= 1
        judge_server.set_down(False)
        return await asyncio.wait_for(task, 10)

    judgment = with_judge(judge_server, body, breaker_failures=2, max_retries=0)
    assert judgment.score == 0.8 and judgment.error == ""
    assert len(judge_server.requests) == 1


def test_a_judgment_waiting_for_the_endpoint_can_be_cancelled(
        judge_server: FakeJudgeServer) -> None:
    judge_server.set_down(True)

    async def body(judge: LlmJudge) -> str:
        task = asyncio.create_task(judge.judge(trace()))
        await eventually(lambda: judge.stats()["breaker_opens"] >= 1, "the breaker to open")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        judge_server.set_down(False)
        judgment = await judge.judge(trace("after the cancel"))  # the breaker still works
        return judgment.label

    assert with_judge(judge_server, body, breaker_failures=1) == "helpful"


def test_the_breaker_opens_and_callers_wait_the_cooldown(judge_server: FakeJudgeServer) -> None:
    judgment, stats = judging(judge_server, trace("[judge:500]"), breaker_failures=3,
                              breaker_cooldown_s=0.3, max_retries=4)
    assert judgment.error.startswith("HTTP 500")
    at = [r.at for r in judge_server.requests]
    assert len(at) == 5
    # three failures open it; each later call is a probe after a full cooldown, and each
    # failed probe opens it again
    assert at[3] - at[2] >= 0.3 and at[4] - at[3] >= 0.3
    assert stats["breaker_opens"] == 3


def test_a_successful_probe_closes_the_breaker(judge_server: FakeJudgeServer) -> None:
    async def body(judge: LlmJudge) -> list[str]:
        first = await judge.judge(trace("[judge:500-once] one"))
        states = [judge.breaker_state]
        await judge.judge(trace("two"))
        return [first.label, *states, judge.breaker_state]

    assert with_judge(judge_server, body, breaker_failures=1) == ["helpful", "closed", "closed"]


# --- concurrency ------------------------------------------------------------------------
def test_the_concurrency_limit_holds(judge_server: FakeJudgeServer) -> None:
    async def body(judge: LlmJudge) -> list[Judgment]:
        items = [trace(f"[judge:slow:0.5] question {i}") for i in range(7)]
        return list(await asyncio.gather(*(judge.judge(i) for i in items)))

    judgments = with_judge(judge_server, body, concurrency=3)
    assert all(j.score == 0.8 for j in judgments)
    assert judge_server.max_in_flight == 3


def test_a_shared_client_is_not_closed(judge_server: FakeJudgeServer) -> None:
    import httpx

    async def go() -> bool:
        async with httpx.AsyncClient() as client:
            judge = LlmJudge(config(judge_server.base_url), load_rubric("safety"), client=client)
            judgment = await judge.judge(trace())
            await judge.aclose()
            assert judgment.evaluator == "safety" and judgment.cost_usd == 0.0  # no price book
            return client.is_closed

    assert run(go()) is False


# --- pieces -----------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "expected"), [
    ('{"score": 0.5, "label": "ok", "rationale": "fine"}', (0.5, "ok", "fine")),
    ('{"score": 1, "label": " helpful ", "rationale": ""}', (1.0, "helpful", "")),
    ('```json\n{"score": 0, "label": "bad", "rationale": "r"}\n```', (0.0, "bad", "r")),
    ('{"score": 0.9, "label": "x", "rationale": "' + "é" * 900 + '"}',
     (0.9, "x", "é" * MAX_RATIONALE)),
])
def test_parse_verdict(content: str, expected: tuple[float, str, str]) -> None:
    assert parse_verdict(content) == expected


@pytest.mark.parametrize(("content", "reason"), [
    ("", "not JSON"), ("The score is 0.8", "not JSON"), ("[0.8]", "not a JSON object"),
    ('{"score": "0.8", "label": "x", "rationale": "r"}', "score is not a number"),
    ('{"score": true, "label": "x", "rationale": "r"}', "score is not a number"),
    ('{"score": NaN, "label": "x", "rationale": "r"}', "not JSON"),
    ('{"score": -0.1, "label": "x", "rationale": "r"}', "outside"),
    ('{"label": "x", "rationale": "r"}', "score is not a number"),
    ('{"score": 0.5, "rationale": "r"}', "label"),
    ('{"score": 0.5, "label": 3, "rationale": "r"}', "label"),
    ('{"score": 0.5, "label": "x"}', "rationale"),
])
def test_parse_verdict_rejects(content: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_verdict(content)


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("2", 2.0), ("0.5", 0.5), (" 7 ", 7.0), ("-3", 0.0), ("0", 0.0),
    (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
    (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
    ("soon", None), ("", None), (None, None), ("inf", None),
])
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after_s(header, NOW) == seconds


def test_render_trace_clips_huge_parts_and_long_conversations() -> None:
    turns = [{"role": "system", "content": "sys"}] + [
        {"role": "user" if i % 2 else "assistant", "content": f"turn {i}"} for i in range(60)]
    item = JudgeInput("t", "e", "p", "a", "m", turns, "x" * 1_000_000,
                      {"response_format": "json_object"}, "ok", {}, "c" * 50_000)
    text = render_trace(item, max_chars=1000)
    assert len(text) < 30_000
    assert "characters cut" in text and "earlier messages omitted" in text
    assert "[system]\nsys" in text and "turn 59" in text and "turn 3\n" not in text
    assert 'Requested response_format: "json_object"' in text


def test_render_trace_marks_an_empty_answer() -> None:
    assert "<<<ANSWER\n(empty)\nANSWER>>>" in render_trace(trace(answer=""))


@pytest.mark.parametrize("bad", [
    {"base_url": "localhost:8080"}, {"model": ""}, {"timeout_s": 0}, {"max_retries": -1},
    {"concurrency": 0}, {"breaker_failures": 0}, {"backoff_initial_s": 5, "backoff_max_s": 1},
])
def test_config_validation(bad: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"base_url": "http://127.0.0.1:1/v1", "model": "m", **bad}
    with pytest.raises(ValueError):
        LlmJudgeConfig(**settings)


def test_the_api_key_is_not_in_the_config_repr() -> None:
    assert "s3cret" not in repr(LlmJudgeConfig("http://x/v1", "m", api_key="s3cret"))


def test_breaker_states_with_a_fake_clock() -> None:
    now = [0.0]

    async def go() -> list[str]:
        breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: now[0])
        states = []
        breaker.failure()
        states.append(breaker.state)  # one failure: still closed
        breaker.failure()
        states.append(breaker.state)
        now[0] = 10.0
        token = await breaker.admit()  # the cooldown is over: a probe
        states.append(breaker.state)
        breaker.release(token)  # the probe went away without a result
        states.append(breaker.state)
        await breaker.admit()
        breaker.success()
        states.append(breaker.state)
        assert breaker.opens == 1
        return states

    assert run(go()) == ["closed", "open", "half_open", "open", "closed"]
