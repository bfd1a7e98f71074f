"""The faust adapter around the enrich stage.

One Kafka record (a batch of events) is the unit that flows through faust:
per-event faust calls would cost more than the work. Each raw record becomes
one enriched record written to the SAME partition number of the enriched
topic, awaited before the next record is read, so the source offset is only
committed once its output is confirmed. A raw record must carry ingest's signature
(vigil.kafka.signing); the app topic is authenticated by its API-key headers instead.
Its output is signed. Unsigned or forged raw records, unreadable records and failing
events go to `<raw topic>.dlq` with the reason and source position in headers; a record
whose processing raises anything else is handled by the one poison policy
(vigil.kafka.poison): tried again a bounded number of times, then dead-lettered.
Transient Kafka errors are retried with backoff; nothing is acked unsent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
import orjson

from vigil.access.keyring import KeyRing
from vigil.core.prices import PriceBook, load_price_overrides
from vigil.enrich.stage import (
    EnrichConfig,
    EnrichOutcome,
    app_event_batch,
    enrich_batch,
    enrich_record,
)
from vigil.events.validate import Limits
from vigil.kafka import topics as t
from vigil.kafka.faust_app import stage_app
from vigil.kafka.poison import Poison, process
from vigil.kafka.producer import dead_letter, send_lines
from vigil.kafka.signing import check, internal_secret
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import ENRICH_EVENTS, ENRICH_PII, ENRICH_UNPRICED
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb

log = get_logger(__name__)
STAGE = "enrich"


def enrich_config(settings: Settings) -> EnrichConfig:
    overrides = (load_price_overrides(settings.price_overrides_file)
                 if settings.price_overrides_file else [])
    return EnrichConfig(prices=PriceBook(overrides), mask_pii=settings.pii_masking,
                        pii_kinds=settings.pii_kind_set)


def build_app(settings: Settings) -> faust.App:
    topics = t.Topics.from_settings(settings)
    config = enrich_config(settings)
    secret = internal_secret(settings)
    app = stage_app(settings, "enrich", stream_wait_empty=True)
    raw = app.topic(topics.traces_raw, key_type=bytes, value_type=bytes,
                    key_serializer="raw", value_serializer="raw")

    app_events = app.topic(topics.traces_app, key_type=bytes, value_type=bytes,
                           key_serializer="raw", value_serializer="raw")
    keys = KeyRing.from_settings(settings)  # re-reads the key file: revokes apply here too

    @app.on_partitions_assigned.connect
    async def partitions_assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        log.info("partitions assigned", stage=STAGE,
                 partitions=sorted(f"{p.topic}:{p.partition}" for p in assigned))
    limits = Limits.from_settings(settings)

    @app.agent(raw, name="enrich-traces")
    async def enrich_traces(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await handle_record(app, topics, config, secret, event.message)

    @app.agent(app_events, name="enrich-app-traces")
    async def enrich_app_traces(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            m = event.message
            source = (topics.traces_app, m.partition, m.offset)
            outcome = process(partial(enrich_app_record, m, keys, limits, config), STAGE)
            if isinstance(outcome, Poison):
                await dead_letter(app, STAGE, source, m.value or b"", outcome.reason)
                continue
            await emit(app, topics, secret, source, outcome)

    return app


def enrich_app_record(m: Any, keys: KeyRing, limits: Limits, config: EnrichConfig
                      ) -> EnrichOutcome:
    """One record of the app topic, authenticated by its headers, enriched."""
    batch = app_event_batch(m.value, _headers(m.headers), keys, limits, datetime.now(UTC))
    return enrich_batch(batch, m.partition, m.offset, config)


def _headers(raw: Any) -> dict[str, str]:
    pairs = raw.items() if isinstance(raw, dict) else (raw or [])
    return {k.lower(): (v.decode(errors="replace") if isinstance(v, bytes) else str(v))
            for k, v in pairs}


def enrich_raw_record(m: Any, secret: bytes, config: EnrichConfig) -> EnrichOutcome:
    """One record of the raw topic, checked for ingest's signature, enriched."""
    check(secret, m.headers, m.value)
    return enrich_record(m.value, m.partition, m.offset, config)


async def handle_record(app: faust.App, topics: t.Topics, config: EnrichConfig,
                        secret: bytes, m: Any) -> None:
    source = (topics.traces_raw, m.partition, m.offset)
    outcome = process(partial(enrich_raw_record, m, secret, config), STAGE)
    if isinstance(outcome, Poison):
        await dead_letter(app, STAGE, source, m.value or b"", outcome.reason)
        return
    await emit(app, topics, secret, source, outcome)


async def emit(app: faust.App, topics: t.Topics, secret: bytes, source: tuple[str, int, int],
               outcome: EnrichOutcome) -> None:
    """Send the enriched records on, dead-letter the events that failed, count."""
    partition = source[1]
    if outcome.records:
        await send_lines(app, STAGE, topics.traces_enriched,
                         [orjson.dumps(r) for r in outcome.records], secret,
                         partition=partition)
    for failure in outcome.failures:
        one = pb.TraceBatch(project_id=outcome.project_id, events=[failure.event])
        await dead_letter(app, STAGE, source, one.SerializeToString(), failure.reason)
    count(outcome)


def count(outcome: EnrichOutcome) -> None:
    ENRICH_EVENTS.labels("enriched").inc(len(outcome.records))
    ENRICH_EVENTS.labels("failed").inc(len(outcome.failures))
    ENRICH_UNPRICED.inc(outcome.unpriced)
    for kind, n in outcome.pii_masked.items():
        ENRICH_PII.labels(kind).inc(n)


def run(settings: Settings) -> None:
    app = build_app(settings)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
