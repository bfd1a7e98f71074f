"""The Kafka adapter of the notifier.

Reads alert events (JSON lines) from `<prefix>alerts` in group `<prefix>notify`, one
record at a time, and hands each alert to the Deliverer. A record without the
analyzer's signature (vigil.kafka.signing) is dead-lettered whole and nothing of it is
delivered. Every delivery attempt goes as a JSON line to `<prefix>alert.deliveries`
(signed); a line that is not an alert, and a
delivery that failed after its last try, go to `<prefix>alerts.dlq` with the reason in
headers. The record's offset is committed only after all of that is confirmed, so a
crash re-delivers rather than loses; a `delivered` attempt is logged (confirmed) as
soon as the webhook answers, and a record read again is checked against that log
(vigil.notify.ledger), so the webhooks that already have it are not posted again
(only a crash in the milliseconds between the answer and the log line posts twice,
with the same X-Vigil-Delivery-Id). While deliveries are
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
from vigil.notify.ledger import delivered_since
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
    handled: dict[TopicPartition, int] = {}  # the last offset handled per partition
    on_attempt = partial(_log_attempt, producer, settings.topic("alert.deliveries"), secret,
                         attempts)
    log.info("notify consuming", topic=source, webhooks=[w.name for w in config.webhooks])
    try:
        async with Deliverer(config, on_attempt=on_attempt) as deliverer:
            while not stop.is_set():
                for tp, records in consumer.poll(timeout_ms=200, max_records=1).items():
                    for record in records:
                        attempts.clear()
                        done = _already_delivered(settings, secret, tp, record, handled)
                        if not await _handle(deliverer, consumer, producer, settings, tp,
                                             record, attempts, stop, secret, done):
                            return  # stopped mid-delivery: not committed, read again
                        handled[tp] = record.offset
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=5)
        log.info("notify stopped")


def _log_attempt(producer: KafkaProducer, topic: str, secret: bytes,
                 attempts: list[dict[str, Any]], attempt: dict[str, Any]) -> None:
    """A delivered attempt goes to the delivery log at once, confirmed (the ledger a
    restarted notifier reads, vigil.notify.ledger); the others with the record's batch."""
    if attempt["outcome"] != "delivered":
        attempts.append(attempt)
        return
    line = orjson.dumps(attempt)
    producer.send(topic, line, headers=[sign(secret, line)]).get(timeout=30)


def _already_delivered(settings: Settings, secret: bytes, tp: TopicPartition, record: Any,
                       handled: dict[TopicPartition, int]) -> set[tuple[str, str]]:
    """(alert_id, webhook) of this record already delivered, when the record may have been
    handled before (the first one on its partition here, or after a gap): a notifier
    killed mid-record, or the partition's previous owner, delivered part of it."""
    if handled.get(tp) == record.offset - 1:
        return set()
    done = delivered_since(settings.kafka_bootstrap_servers.split(","),
                           settings.topic("alert.deliveries"), secret, record.timestamp)
    if done:
        log.info("ledger read", stage=STAGE, partition=tp.partition, offset=record.offset,
                 delivered=len(done))
    return done


async def _handle(deliverer: Deliverer, consumer: KafkaConsumer, producer: KafkaProducer,
                  settings: Settings, tp: TopicPartition, record: Any,
                  attempts: list[dict[str, Any]], stop: threading.Event, secret: bytes,
                  done: set[tuple[str, str]] | None = None) -> bool:
    dead: list[tuple[bytes, str, str]] = []  # (value, reason, webhook)
    alerts = _alerts(record, secret, dead)
    skip = done or set()
    task = asyncio.ensure_future(asyncio.gather(*(
        deliverer.deliver(a, skip={w for aid, w in skip if aid == a.alert_id})
        for a in alerts)))
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
