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
with the same X-Vigil-Delivery-Id). The Kafka side is the one
runner (vigil.kafka.runner): while deliveries are retried the consumer keeps polling with
its partitions paused, so it stays in the group.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from kafka import TopicPartition

from vigil.core.alerts import AlertEvent
from vigil.kafka.poison import Poison, process
from vigil.kafka.runner import Batch, BatchLimits, Runner
from vigil.kafka.signing import internal_secret, sign, verify
from vigil.notify.config import NotifyConfig, load_notify_config
from vigil.notify.delivery import Deliverer
from vigil.notify.ledger import delivered_since
from vigil.notify.links import with_links
from vigil.notify.payloads import decode_alert
from vigil.runtime.logs import get_logger
from vigil.settings import Settings

log = get_logger(__name__)
STAGE = "notify"
H_WEBHOOK = "vigil-notify-webhook"


@dataclass(slots=True)
class Alerts:
    """The alerts of one record, and what of it is not an alert: (value, reason, webhook)."""

    alerts: list[AlertEvent] = field(default_factory=list)
    dead: list[tuple[bytes, str, str]] = field(default_factory=list)


def run(settings: Settings, config_path: Path | str, stop: threading.Event) -> None:
    config = load_notify_config(config_path, settings.environ())
    asyncio.run(_consume(settings, config, stop))


async def _consume(settings: Settings, config: NotifyConfig, stop: threading.Event) -> None:
    attempts: list[dict[str, Any]] = []
    log.info("notify consuming", topic=settings.topic("alerts"),
             webhooks=[w.name for w in config.webhooks])
    runner: AlertRunner | None = None

    def on_attempt(attempt: dict[str, Any]) -> None:  # attempts begin once the runner runs
        assert runner is not None
        runner.attempted(attempt)

    async with Deliverer(config, on_attempt=on_attempt) as deliverer:
        runner = AlertRunner(settings, deliverer, asyncio.get_running_loop(), attempts)
        await asyncio.to_thread(runner.run, stop)
    log.info("notify stopped")


class AlertRunner(Runner[Alerts]):
    """Decode on the runner's thread, deliver on the event loop, log and commit after."""

    def __init__(self, settings: Settings, deliverer: Deliverer,
                 loop: asyncio.AbstractEventLoop, attempts: list[dict[str, Any]]) -> None:
        super().__init__(settings, STAGE, [settings.topic("alerts")],
                         BatchLimits(max_size=1, max_wait_s=0.0, max_records=1,
                                     poll_timeout_ms=200))
        self._deliverer = deliverer
        self._loop = loop
        self._attempts = attempts
        self._secret = internal_secret(settings)
        self._deliveries = settings.topic("alert.deliveries")
        self._dashboard_url = settings.dashboard_url
        self._servers = settings.kafka_bootstrap_servers.split(",")
        self._handled: dict[TopicPartition, int] = {}  # the last offset handled per partition

    def decode(self, tp: TopicPartition, record: Any) -> Alerts:
        found = _alerts(record, self._secret)
        found.alerts = [with_links(a, self._dashboard_url) for a in found.alerts]
        return found

    def attempted(self, attempt: dict[str, Any]) -> None:
        """A delivered attempt goes to the delivery log at once, confirmed (the ledger a
        restarted notifier reads, vigil.notify.ledger); the others with the record."""
        if attempt["outcome"] != "delivered":
            self._attempts.append(attempt)
            return
        line = orjson.dumps(attempt)
        self.producer.send(self._deliveries, line,
                           headers=[sign(self._secret, line)]).get(timeout=30)

    def write(self, batch: Batch[Alerts]) -> concurrent.futures.Future[Any]:
        self._attempts.clear()
        work = [(a, self._already_delivered(entry.tp, entry.record))
                for entry in batch.entries for a in entry.item.alerts]
        return asyncio.run_coroutine_threadsafe(self._deliver(work), self._loop)

    def _already_delivered(self, tp: TopicPartition, record: Any) -> set[tuple[str, str]]:
        """(alert_id, webhook) of this record already delivered, when the record may have
        been handled before (the first one on its partition here, or after a gap, or a
        retried write): a notifier killed mid-record, or the partition's previous owner,
        delivered part of it."""
        if self._handled.get(tp) == record.offset - 1:
            return set()
        done = delivered_since(self._servers, self._deliveries, self._secret,
                               record.timestamp)
        if done:
            log.info("ledger read", stage=STAGE, partition=tp.partition, offset=record.offset,
                     delivered=len(done))
        return done

    async def _deliver(self, work: list[tuple[AlertEvent, set[tuple[str, str]]]]
                       ) -> list[Any]:
        return list(await asyncio.gather(*(
            self._deliverer.deliver(a, skip={w for aid, w in done if aid == a.alert_id})
            for a, done in work)))

    def written(self, batch: Batch[Alerts], result: Any) -> None:
        """The attempts to the deliveries topic; what is not an alert and what failed for
        good to the dead-letter topic: all confirmed before the commit."""
        if self._attempts:
            log_lines = b"\n".join(orjson.dumps(a) for a in self._attempts)
            self.producer.send(self._deliveries, log_lines,
                               headers=[sign(self._secret, log_lines)]).get(timeout=30)
        results = iter(result)
        for entry in batch.entries:
            self._handled[entry.tp] = entry.record.offset
            dead = list(entry.item.dead)
            for alert, outcomes in zip(entry.item.alerts, results, strict=False):
                for r in outcomes:
                    if r.outcome == "failed":
                        dead.append((orjson.dumps(alert.to_json()), f"delivery to {r.webhook} "
                                     f"failed after {r.attempts} attempts: {r.error}",
                                     r.webhook))
            for value, reason, webhook in dead:
                self.dead_letter(entry.tp, entry.record, reason, value=value,
                                 extra=((H_WEBHOOK, webhook.encode()),))


def _alerts(record: Any, secret: bytes) -> Alerts:
    """The alerts of one record; what is not an alert goes to `dead` with the reason (the
    whole record when it is not signed by the analyzer)."""
    found = Alerts()
    if (refused := verify(secret, record.headers, record.value)) is not None:
        found.dead.append((record.value or b"", refused, ""))
        return found
    lines = [line for line in (record.value or b"").split(b"\n") if line.strip()]
    for n, line in enumerate(lines, 1):
        decoded = process(partial(decode_alert, line), STAGE, permanent=(ValueError,))
        if isinstance(decoded, Poison):
            found.dead.append((line, f"line {n}: {decoded.reason}", ""))
        else:
            found.alerts.append(decoded)
    if not lines:
        found.dead.append((record.value or b"", "empty record: no alert", ""))
    return found
