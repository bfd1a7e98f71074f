"""The Kafka adapter of the notifier.

Reads alert events (JSON lines) from `<prefix>alerts` in group `<prefix>notify`, one
record at a time, and hands each alert to the Deliverer. A record without the
analyzer's signature (vigil.kafka.signing) is dead-lettered whole and nothing of it is
delivered. Every delivery attempt goes as a JSON line to `<prefix>alert.deliveries`
(signed); a line that is not an alert, and a
delivery that failed after its last try, go to `<prefix>alerts.dlq` with the reason in
headers. The record's offset is committed only after all of that is confirmed, so a
crash re-delivers (same X-Vigil-Delivery-Id) rather than loses. While deliveries are
retried the consumer keeps polling with its partitions paused: it stays in the group.
"""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

from vigil.core.alerts import AlertEvent
from vigil.kafka import topics as t
from vigil.kafka.poison import Poison, process
from vigil.kafka.signing import internal_secret, sign, verify
from vigil.logs import get_logger
from vigil.metrics import DEAD_LETTERS
from vigil.notify.config import NotifyConfig, load_notify_config
from vigil.notify.delivery import Deliverer
from vigil.notify.payloads import decode_alert
from vigil.settings import Settings

log = get_logger(__name__)
STAGE = "notify"
H_WEBHOOK = "vigil-notify-webhook"


def run(settings: Settings, config_path: Path | str, stop: threading.Event) -> None:
    config = load_notify_config(config_path, settings.environ())
    asyncio.run(_consume(settings, config, stop))


async def _consume(settings: Settings, config: NotifyConfig, stop: threading.Event) -> None:
    servers = settings.kafka_bootstrap_servers.split(",")
    source = settings.topic("alerts")
    secret = internal_secret(settings)
    consumer = KafkaConsumer(
        source, bootstrap_servers=servers, group_id=settings.group(STAGE),
        client_id="vigil-notify", enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms)
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", retries=5,
                             client_id="vigil-notify")
    attempts: list[dict[str, Any]] = []
    log.info("notify consuming", topic=source, webhooks=[w.name for w in config.webhooks])
    try:
        async with Deliverer(config, on_attempt=attempts.append) as deliverer:
            while not stop.is_set():
                for tp, records in consumer.poll(timeout_ms=200, max_records=1).items():
                    for record in records:
                        attempts.clear()
                        if not await _handle(deliverer, consumer, producer, settings, tp,
                                             record, attempts, stop, secret):
                            return  # stopped mid-delivery: not committed, read again
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=5)
        log.info("notify stopped")


async def _handle(deliverer: Deliverer, consumer: KafkaConsumer, producer: KafkaProducer,
                  settings: Settings, tp: TopicPartition, record: Any,
                  attempts: list[dict[str, Any]], stop: threading.Event, secret: bytes) -> bool:
    dead: list[tuple[bytes, str, str]] = []  # (value, reason, webhook)
    alerts = _alerts(record, secret, dead)
    task = asyncio.ensure_future(asyncio.gather(*(deliverer.deliver(a) for a in alerts)))
    while not task.done():
        await asyncio.wait({task}, timeout=0.5)
        if stop.is_set() and not task.done():
            task.cancel()
            return False
        paused = list(consumer.assignment())  # keep the group membership while retrying
        consumer.pause(*paused)
        consumer.poll(timeout_ms=0)
        consumer.resume(*paused)
    for alert, results in zip(alerts, task.result(), strict=True):
        for r in results:
            if r.outcome == "failed":
                dead.append((orjson.dumps(alert.to_json()), f"delivery to {r.webhook} failed "
                             f"after {r.attempts} attempts: {r.error}", r.webhook))
    pending = []
    if attempts:
        log_lines = b"\n".join(orjson.dumps(a) for a in attempts)
        pending.append(producer.send(settings.topic("alert.deliveries"), log_lines,
                                     headers=[sign(secret, log_lines)]))
    for value, reason, webhook in dead:
        log.warning("dead-lettered", stage=STAGE, topic=tp.topic, partition=tp.partition,
                    offset=record.offset, reason=reason)
        headers = [(t.H_REASON, reason.encode()), (t.H_STAGE, STAGE.encode()),
                   (t.H_SOURCE_TOPIC, tp.topic.encode()),
                   (t.H_SOURCE_PARTITION, str(tp.partition).encode()),
                   (t.H_SOURCE_OFFSET, str(record.offset).encode()),
                   (H_WEBHOOK, webhook.encode())]
        pending.append(producer.send(t.dlq(tp.topic), value, key=record.key, headers=headers))
        DEAD_LETTERS.labels(STAGE, tp.topic).inc()
    for future in pending:
        future.get(timeout=30)
    try:
        consumer.commit({tp: OffsetAndMetadata(record.offset + 1, None, -1)})
    except CommitFailedError as exc:  # revoked meanwhile: the new owner re-delivers it
        log.warning("commit failed after a rebalance", stage=STAGE, error=str(exc))
    return True


def _alerts(record: Any, secret: bytes, dead: list[tuple[bytes, str, str]]) -> list[AlertEvent]:
    """The alerts of one record; what is not an alert goes to `dead` with the reason (the
    whole record when it is not signed by the analyzer)."""
    if (refused := verify(secret, record.headers, record.value)) is not None:
        dead.append((record.value or b"", refused, ""))
        return []
    alerts: list[AlertEvent] = []
    lines = [line for line in (record.value or b"").split(b"\n") if line.strip()]
    for n, line in enumerate(lines, 1):
        decoded = process(partial(decode_alert, line), STAGE, permanent=(ValueError,))
        if isinstance(decoded, Poison):
            dead.append((line, f"line {n}: {decoded.reason}", ""))
        else:
            alerts.append(decoded)
    if not lines:
        dead.append((record.value or b"", "empty record: no alert", ""))
    return alerts
