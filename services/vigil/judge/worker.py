"""The faust adapter around the judge stage.

Reads enriched trace records (group `vigil-judge`, beside the sink) and
feedback; writes score rows to `<prefix>judge.scores` (same partition as the
source) and, every 10 s, the sampling counts to `<prefix>judge.sampling`, both
JSON lines for the sink. The agent awaits the judgments of a record before it
takes the next one: while the judge endpoint is down, consumption pauses
(backpressure) and memory stays bounded. At start-up the day's judge spend per
project is read back from the scores topic, so a restart does not reset the
budget. Every record read must carry a Vigil signature (vigil.kafka.signing): an
unsigned or forged enriched record is dead-lettered unjudged, forged feedback is skipped
(the sink dead-letters it), a forged score record is not counted as spend; all output is
signed. A record whose judging raises (other than a judge endpoint's own errors,
which become error judgments) is tried again a bounded number of times, then
dead-lettered by the one poison policy (vigil.kafka.poison).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
import orjson
from kafka import KafkaConsumer, TopicPartition

from vigil.core.prices import PriceBook, load_price_overrides
from vigil.events.wire import PayloadError, decode_enriched_batch, decode_feedback
from vigil.judge.budget import JudgeBudget
from vigil.judge.config import JudgeConfig, load_judge_config
from vigil.judge.evaluators import make_evaluators
from vigil.judge.llm import LlmJudge, LlmJudgeConfig
from vigil.judge.rubric import load_rubric
from vigil.judge.sampling import Sampler
from vigil.judge.stage import JudgeStage
from vigil.kafka import topics as t
from vigil.kafka.config import reader_config
from vigil.kafka.faust_app import stage_app
from vigil.kafka.poison import Poison, process_async
from vigil.kafka.producer import dead_letter, send_lines
from vigil.kafka.signing import check, internal_secret, verify
from vigil.runtime.logs import get_logger
from vigil.settings import Settings

log = get_logger(__name__)
STAGE = "judge"


def build_stage(settings: Settings, config: JudgeConfig) -> JudgeStage:
    llm_judges: tuple[LlmJudge, ...] = ()
    if settings.judge_llm_base_url:
        prices = PriceBook(load_price_overrides(settings.price_overrides_file)
                           if settings.price_overrides_file else [])
        llm_config = LlmJudgeConfig(
            base_url=settings.judge_llm_base_url, model=settings.judge_llm_model,
            api_key=settings.judge_llm_api_key.get_secret_value(),
            provider=settings.judge_llm_provider, timeout_s=settings.judge_llm_timeout_s,
            concurrency=settings.judge_llm_concurrency)
        llm_judges = tuple(LlmJudge(llm_config, load_rubric(name.strip()), prices)
                           for name in settings.judge_llm_rubrics.split(",") if name.strip())
    return JudgeStage(sampler=Sampler(config), budget=JudgeBudget(config),
                      builtin=tuple(make_evaluators()), llm_judges=llm_judges,
                      llm_concurrency=settings.judge_llm_concurrency)


def spend_today(settings: Settings, topic: str) -> dict[str, float]:
    """The judge cost per project written to the scores topic since 00:00 UTC (records
    without a valid signature do not count)."""
    secret = internal_secret(settings)
    consumer = KafkaConsumer(**reader_config(settings, "vigil-judge-budget"))
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return {}
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        starts = consumer.offsets_for_times({tp: int(midnight.timestamp() * 1000)
                                             for tp in partitions})
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        for tp in partitions:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        spent: dict[str, float] = {}
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    _add_spend(spent, secret, record)
        return spent
    finally:
        consumer.close()


def _add_spend(spent: dict[str, float], secret: bytes, record: Any) -> None:
    if (refused := verify(secret, record.headers, record.value)) is not None:
        log.warning("score record not counted as spend", stage=STAGE, reason=refused,
                    partition=record.partition, offset=record.offset)
        return
    for line in (record.value or b"").split(b"\n"):
        row = orjson.loads(line) if line else {}
        if row.get("judge_cost"):
            spent[row["project_id"]] = spent.get(row["project_id"], 0.0) + row["judge_cost"]


def build_app(settings: Settings) -> faust.App:
    topics = t.Topics.from_settings(settings)
    secret = internal_secret(settings)
    config = load_judge_config(settings)
    stage = build_stage(settings, config)
    today = datetime.now(UTC).date()
    for project, usd in spend_today(settings, topics.judge_scores).items():
        stage.budget.spend(project, today, usd)
        log.info("judge spend so far today", project=project, usd=round(usd, 6))
    app = stage_app(settings, "judge")
    raw_opts: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                                "key_serializer": "raw", "value_serializer": "raw"}
    enriched = app.topic(topics.traces_enriched, **raw_opts)
    feedback = app.topic(topics.feedback, **raw_opts)

    @app.agent(enriched, name="judge-traces")
    async def judge_traces(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            m = event.message
            rows = await process_async(partial(judge_record, stage, secret, m), STAGE)
            if isinstance(rows, Poison):
                await dead_letter(app, STAGE, (topics.traces_enriched, m.partition, m.offset),
                                  m.value or b"", f"cannot judge: {rows.reason}")
                continue
            if rows:
                await send_lines(app, STAGE, topics.judge_scores,
                                 [orjson.dumps(r) for r in rows], secret, partition=m.partition)

    @app.agent(feedback, name="judge-negative-feedback")
    async def judge_negative_feedback(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            m = event.message
            if not config.always_include.negative_feedback:
                continue
            rows = await process_async(partial(judge_feedback, stage, secret, m), STAGE)
            if isinstance(rows, Poison):
                log.warning("feedback not judged", stage=STAGE, partition=m.partition,
                            offset=m.offset, reason=rows.reason)
                continue  # the sink stores or dead-letters the feedback record itself
            if rows:
                await send_lines(app, STAGE, topics.judge_scores,
                                 [orjson.dumps(r) for r in rows], secret)

    @app.timer(interval=10.0)
    async def flush_sampling_counts() -> None:
        rows = stage.flush_counts()
        if rows:
            await send_lines(app, STAGE, topics.judge_sampling,
                             [orjson.dumps(r) for r in rows], secret)

    return app


async def judge_record(stage: JudgeStage, secret: bytes, m: Any) -> list[dict[str, Any]]:
    """The score rows of one enriched-traces record (raises on a record it cannot judge,
    or that is not signed by enrich)."""
    check(secret, m.headers, m.value)
    return await stage.judge_records([doc for _, doc in decode_enriched_batch(m.value)])


async def judge_feedback(stage: JudgeStage, secret: bytes, m: Any) -> list[dict[str, Any]]:
    """The score rows for a trace that got negative feedback, or none (raises on feedback
    that is not signed by ingest)."""
    check(secret, m.headers, m.value)
    try:
        fb = decode_feedback(m.value)
    except PayloadError:
        return []  # the sink dead-letters unreadable feedback
    negative = fb.kind in ("thumbs", "score") and fb.value < 0.5
    return await stage.judge_on_feedback(fb.trace_id) if negative else []


def run(settings: Settings) -> None:
    app = build_app(settings)
    faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False
                 ).execute_from_commandline()
