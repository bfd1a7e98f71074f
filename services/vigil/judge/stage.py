"""The judge stage: decide, evaluate, and describe the outcome as rows (no Kafka here).

Contract: for each enriched trace record, the sampler decides; a judged trace
gets one score row per evaluator (built-in ones always, LLM rubrics while the
project's daily budget lasts); every decision is counted per slice and
minute (eligible / judged / judged by an always-include rule / skipped for
budget). Score ids are `event_id:evaluator:version`, so a replay writes the
same rows, which the sink stores once. A judge error is a row with score
null and the error: never a made-up score.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.judge.budget import JudgeBudget
from vigil.judge.evaluators import Evaluator, run_builtin
from vigil.judge.llm import LlmJudge
from vigil.judge.model import JudgeInput, Judgment
from vigil.judge.sampling import Decision, Sampler, Slice
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import (
    JUDGE_DECISIONS,
    JUDGE_JUDGMENTS,
    JUDGE_SKIPPED_BUDGET,
    JUDGE_SPEND,
)

log = get_logger(__name__)
_RECENT_TRACES = 20_000


@dataclass(slots=True)
class SliceCounts:
    eligible: int = 0
    judged: int = 0
    judged_by_rule: int = 0
    skipped_budget: int = 0


@dataclass(slots=True)
class JudgeStage:
    sampler: Sampler
    budget: JudgeBudget
    builtin: tuple[Evaluator, ...]
    llm_judges: tuple[LlmJudge, ...] = ()
    llm_concurrency: int = 8
    counts: dict[tuple[Slice, str], SliceCounts] = field(default_factory=dict)
    recent: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    judged_traces: OrderedDict[str, None] = field(default_factory=OrderedDict)
    outcomes: Counter[str] = field(default_factory=Counter)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the budget day
    _llm_slots: asyncio.Semaphore | None = None

    async def judge_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Score rows for the records the sampler picks (LLM calls run concurrently)."""
        picked = []
        for record in records:
            self._remember(record)
            decision = self.sampler.decide(record)
            JUDGE_DECISIONS.labels(decision.reason).inc()
            self._count(record, decision)
            if decision.judge:
                picked.append((record, decision.reason))
        return await self._judge_all(picked)

    async def judge_on_feedback(self, trace_id: str) -> list[dict[str, Any]]:
        """Judge a trace that got negative feedback, if it is recent and not judged yet."""
        record = self.recent.get(trace_id)
        if record is None or trace_id in self.judged_traces:
            self.outcomes["feedback_trace_not_available" if record is None
                          else "feedback_trace_already_judged"] += 1
            return []
        self._count(record, Decision(True, "negative_feedback"), eligible=False)
        return await self._judge_all([(record, "negative_feedback")])

    async def _judge_all(self, picked: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
        results = await asyncio.gather(*(self._judge(record, reason) for record, reason in picked))
        return [row for rows in results for row in rows]

    async def _judge(self, record: dict[str, Any], reason: str) -> list[dict[str, Any]]:
        self.judged_traces[record["trace_id"]] = None
        _trim(self.judged_traces)
        item = JudgeInput.from_enriched(record)
        judgments = run_builtin(item, self.builtin)
        today = self.clock().astimezone(UTC).date()
        if self._llm_slots is None:
            self._llm_slots = asyncio.Semaphore(self.llm_concurrency)
        for judge in self.llm_judges:
            # The budget is checked once a call slot is free, so calls in flight can pass
            # the budget by at most the concurrency limit's worth of calls (none at 1).
            async with self._llm_slots:
                if not self.budget.allows(item.project_id, today):
                    self._count(record, Decision(True, "sampled"), eligible=False, budget=True)
                    JUDGE_SKIPPED_BUDGET.labels(item.project_id).inc()
                    continue
                judgment = await judge.judge(item)
                crossed = self.budget.spend(item.project_id, today, judgment.cost_usd)
                JUDGE_SPEND.labels(item.project_id).inc(judgment.cost_usd)
            if crossed:
                log.warning("judge budget spent: no more LLM judgments today", stage="judge",
                            project=item.project_id, spent_usd=round(
                                self.budget.spent(item.project_id, today), 6))
            judgments.append(judgment)
        judged_at = self.clock().isoformat()
        for j in judgments:
            JUDGE_JUDGMENTS.labels(j.evaluator, "error" if j.error else "score").inc()
        return [score_row(record, j, reason, judged_at) for j in judgments]

    def _remember(self, record: dict[str, Any]) -> None:
        self.recent[record["trace_id"]] = record
        self.recent.move_to_end(record["trace_id"])
        _trim(self.recent)

    def _count(self, record: dict[str, Any], decision: Decision, eligible: bool = True,
               budget: bool = False) -> None:
        minute = datetime.fromisoformat(record["start_time"]).replace(second=0, microsecond=0)
        c = self.counts.setdefault((Slice.of(record), minute.isoformat()), SliceCounts())
        if budget:
            c.skipped_budget += 1
            return
        c.eligible += eligible
        if decision.judge:
            c.judged += 1
            c.judged_by_rule += decision.reason not in ("sampled", "min_per_slice")

    def flush_counts(self) -> list[dict[str, Any]]:
        """The counts since the last flush, as judge_sampling rows; then start over."""
        rows = [{"project_id": s.project, "minute": minute, "summary_id": str(uuid.uuid4()),
                 "app": s.app, "environment": s.environment, "model": s.model,
                 "prompt_template_version": s.prompt_version, "eligible": c.eligible,
                 "judged": c.judged, "judged_by_rule": c.judged_by_rule,
                 "skipped_budget": c.skipped_budget}
                for (s, minute), c in self.counts.items()]
        self.counts = {}
        return rows


def _trim(cache: OrderedDict[str, Any]) -> None:
    while len(cache) > _RECENT_TRACES:
        cache.popitem(last=False)


def score_row(record: dict[str, Any], j: Judgment, reason: str, judged_at: str
              ) -> dict[str, Any]:
    """One `scores` row (keys = the table's columns)."""
    return {
        "project_id": record["project_id"], "trace_start_time": record["start_time"],
        "score_id": f"{record['event_id']}:{j.evaluator}:{j.version}",
        "trace_id": record["trace_id"], "event_id": record["event_id"], "app": record["app"],
        "environment": record["environment"], "model": record["model"],
        "prompt_template_id": record["prompt_template_id"],
        "prompt_template_version": record["prompt_template_version"],
        "evaluator": j.evaluator, "evaluator_version": j.version,
        "score": None if j.error else j.score, "label": j.label, "rationale": j.rationale,
        "error": j.error, "sample_reason": reason, "judge_model": j.judge_model,
        "judge_cost": j.cost_usd, "judge_latency_ms": j.latency_ms,
        "judge_input_tokens": j.input_tokens, "judge_output_tokens": j.output_tokens,
        "judged_at": judged_at,
    }
