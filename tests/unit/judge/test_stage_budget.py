"""The judge's daily LLM budget on a driven clock: spent within a day, back at 00:00 UTC
(a real local OpenAI-compatible server answers the judge)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.factories import valid_event
from tests.support.judge_server import FakeJudgeServer
from vigil.core.prices import PriceBook, PriceOverride
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.judge.budget import JudgeBudget
from vigil.judge.config import JudgeConfig
from vigil.judge.llm import LlmJudge, LlmJudgeConfig
from vigil.judge.rubric import load_rubric
from vigil.judge.sampling import Sampler
from vigil.judge.stage import JudgeStage
from vigil_protos.v1 import events_pb2 as pb

PRICES = PriceBook([PriceOverride("judgeco", "judge-1", 1.0, 2.0)])  # USD per Mtok


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def records(n: int, now: datetime) -> list[dict[str, Any]]:
    batch = pb.TraceBatch(project_id="proj", events=[valid_event(i, now) for i in range(n)])
    return enrich_record(batch.SerializeToString(), 0, 0, EnrichConfig(PriceBook([]))).records


def llm_scores(rows: list[dict[str, Any]]) -> int:
    return sum(bool(r["judge_model"]) and r["score"] is not None for r in rows)


def test_the_budget_stops_llm_judgments_for_the_day_and_they_resume_at_midnight(
        judge_server: FakeJudgeServer) -> None:
    clock = Clock(datetime(2026, 12, 3, 23, 59, 0, tzinfo=UTC))
    config = JudgeConfig(default_rate=1.0, budget_usd_per_day=1e-9)  # one call spends it

    async def go() -> list[int]:
        judge = LlmJudge(LlmJudgeConfig(judge_server.base_url, model="judge-1",
                                        api_key="k", provider="judgeco", concurrency=1),
                         load_rubric("helpfulness"), PRICES)
        stage = JudgeStage(sampler=Sampler(config), budget=JudgeBudget(config), builtin=(),
                           llm_judges=(judge,), llm_concurrency=1, clock=clock)
        try:
            judged = [llm_scores(await stage.judge_records(records(1, clock.now)))]
            judged.append(llm_scores(await stage.judge_records(records(1, clock.now))))
            clock.now += timedelta(seconds=59.999)  # 23:59:59.999: still the same day
            judged.append(llm_scores(await stage.judge_records(records(1, clock.now))))
            clock.now += timedelta(milliseconds=1)  # 00:00:00.000 UTC: a new day
            judged.append(llm_scores(await stage.judge_records(records(1, clock.now))))
            return judged
        finally:
            await judge.aclose()

    assert asyncio.run(go()) == [1, 0, 0, 1]
    assert len(judge_server.requests) == 2  # no call was made over the budget
