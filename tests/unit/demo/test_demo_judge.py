"""The demo's stand-in LLM judge: what it answers (labelled as demo), and the real LLM
judge client scoring through its real HTTP server on loopback; the environment `vigil up`
gives the stack in demo mode; the back-fill's chunks and how their events spread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from vigil.demo.judge import DEMO_JUDGE_MODEL, DEMO_PREFIX, completion_for, score_answer
from vigil.demo.judge_server import make_server, serve_in_thread
from vigil.demo.stack import DEMO_ANALYZER_ENV, demo_env
from vigil.demo.traffic import backfill_chunks
from vigil.demo.world import DemoWorld
from vigil.judge.llm import LlmJudge, LlmJudgeConfig
from vigil.judge.llm.prompt import request_body
from vigil.judge.model import JudgeInput
from vigil.judge.rubric import load_rubric
from vigil.settings import Settings

QUESTION = "How do I reset my password? The link in the email has expired."


@pytest.mark.parametrize(("answer", "wants_json", "label", "low", "high"), [
    ("", False, "empty", 0.0, 0.0),
    ("I'm sorry, but I can't help with that request.", False, "refusal", 0.1, 0.1),
    ("Lo siento, no tengo información sobre su pedido. Por favor, consulte el centro de "
     "ayuda.", False, "wrong_language", 0.2, 0.2),
    ('{"summary": "The doc', True, "broken_format", 0.2, 0.2),
    ("I'm not sure about that. Please check the help center for more information.", False,
     "evasive", 0.35, 0.35),
    ("Reset links expire after 24 hours, so please request a new one from Settings > "
     "Security.", False, "helpful", 0.7, 1.0),
    ('{"summary": "Revenue grew", "key_points": []}', True, "helpful", 0.55, 1.0),
])
def test_the_stand_in_scores_weak_answers_low(answer: str, wants_json: bool, label: str,
                                              low: float, high: float) -> None:
    score, got, _ = score_answer(QUESTION, answer, wants_json)
    assert got == label and low <= score <= high
    assert score_answer(QUESTION, answer, wants_json)[0] == score  # the same answer, the same


def _item(completion: str, response_format: str = "") -> JudgeInput:
    return JudgeInput("t1", "e1", "demo", "support-bot", "gpt-4o-mini",
                      [{"role": "system", "content": "Be helpful."},
                       {"role": "user", "content": QUESTION}],
                      completion, {"response_format": response_format} if response_format
                      else {}, "ok")


def test_it_reads_the_request_the_judge_stage_sends_and_says_it_is_a_demo() -> None:
    rubric = load_rubric("helpfulness")
    reply = completion_for(request_body(_item("I cannot provide that information."), rubric,
                                        DEMO_JUDGE_MODEL, 8000))
    assert reply["model"] == DEMO_JUDGE_MODEL
    content = reply["choices"][0]["message"]["content"]
    assert '"label": "refusal"' in content and DEMO_PREFIX in content
    asked_json = completion_for(request_body(_item("not json", "json_object"), rubric,
                                             DEMO_JUDGE_MODEL, 8000))
    assert '"broken_format"' in asked_json["choices"][0]["message"]["content"]
    with pytest.raises(ValueError, match="user message"):
        completion_for({"messages": [{"role": "system", "content": "x"}]})


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = make_server("127.0.0.1", 0)
    thread = serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_the_llm_judge_client_scores_through_the_demo_server(endpoint: str) -> None:
    async def judge_two() -> list[float | None]:
        judge = LlmJudge(LlmJudgeConfig(endpoint, DEMO_JUDGE_MODEL, concurrency=4),
                         load_rubric("helpfulness"))
        try:
            good = _item("Reset links expire after 24 hours, so please request a new one "
                         "from Settings > Security.")
            bad = _item("I'm unable to assist with this. Please contact a human agent.")
            judgments = await asyncio.gather(judge.judge(good), judge.judge(bad))
            assert all(j.rationale.startswith(DEMO_PREFIX) for j in judgments)
            assert all(j.judge_model == DEMO_JUDGE_MODEL and not j.error for j in judgments)
            assert judgments[0].input_tokens > 0
            return [j.score for j in judgments]
        finally:
            await judge.aclose()

    good, bad = asyncio.run(judge_two())
    assert good is not None and bad is not None and good > 0.7 > 0.1 == bad
    base = endpoint.removesuffix("/v1")
    assert httpx.get(f"{base}/health").json() == {"status": "ok", "demo": True}
    assert httpx.get(f"{endpoint}/models").json()["data"][0]["id"] == DEMO_JUDGE_MODEL
    refused = httpx.post(f"{endpoint}/chat/completions", content=b"[1]",
                         headers={"content-type": "application/json"})
    assert refused.status_code == 400 and "not a JSON object" in refused.text


def test_demo_mode_brings_the_stand_in_judge_unless_one_is_set() -> None:
    settings = Settings(demo_judge_listen="127.0.0.1:9123")
    env = demo_env(settings, {})
    assert env["VIGIL_JUDGE_LLM_BASE_URL"] == "http://127.0.0.1:9123/v1"
    assert env["VIGIL_JUDGE_LLM_MODEL"] == DEMO_JUDGE_MODEL
    assert {k: env[k] for k in DEMO_ANALYZER_ENV} == DEMO_ANALYZER_ENV
    mine = {"VIGIL_JUDGE_LLM_BASE_URL": "https://api.openai.com/v1",
            "VIGIL_ANALYZER_WINDOW_MINUTES": "15"}
    kept = demo_env(settings, mine)
    assert not set(kept) & set(mine)  # what the user set wins
    assert "VIGIL_JUDGE_LLM_MODEL" not in kept  # and their judge keeps its own model
    configured = Settings(judge_llm_base_url="https://example.org/v1")
    assert "VIGIL_JUDGE_LLM_BASE_URL" not in demo_env(configured, {})


def test_backfill_chunks_cover_the_span_at_the_rate() -> None:
    since = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    chunks = list(backfill_chunks(since, since + timedelta(seconds=95), rate=3.3))
    assert [end - since for end, _ in chunks] == [timedelta(seconds=40), timedelta(seconds=80),
                                                   timedelta(seconds=95)]
    assert [n for _, n in chunks] == [132, 132, 49]  # 3.3/s, the fraction carried over
    assert sum(n for _, n in chunks) == int(3.3 * 95)
    assert list(backfill_chunks(since, since, rate=50)) == []


def test_a_chunk_of_history_fills_its_span() -> None:
    end = datetime(2026, 12, 3, 18, 0, 40, tzinfo=UTC)
    events = DemoWorld(3).next_events(1000, end, spread_s=40)
    ends = [e.end_time.ToDatetime(tzinfo=UTC) for e in events]
    assert end - timedelta(seconds=40) <= min(ends) < end - timedelta(seconds=39)
    assert max(ends) <= end
    first_half = sum(t < end - timedelta(seconds=20) for t in ends)
    assert 400 < first_half < 600  # even over the span, not bunched at its end
