"""Sending from a faust stage: confirmed sends with retry, and dead-lettering."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from vigil.kafka import topics as t
from vigil.logs import get_logger
from vigil.metrics import DEAD_LETTERS

log = get_logger(__name__)


async def send(app: faust.App, stage: str, topic: str, value: bytes,
               partition: int | None = None, headers: list[tuple[str, bytes]] | None = None
               ) -> Any:
    """Send and wait for the broker's confirmation, retrying transient errors forever
    (the caller holds its source offset meanwhile: backpressure, not loss)."""
    delay = 0.1
    while True:
        try:
            return await app.producer.send_and_wait(
                topic, None, value, partition=partition, timestamp=None, headers=headers
            )
        except Exception as exc:  # broker errors are transient here: back off, hold the offset
            log.warning("send failed, retrying", stage=stage, topic=topic, error=str(exc),
                        retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def dead_letter(app: faust.App, stage: str, source: tuple[str, int, int], value: bytes,
                      reason: str) -> None:
    """Send `value` to `<source topic>.dlq` with the reason and its origin in headers."""
    topic, partition, offset = source
    log.warning("dead-lettered", stage=stage, topic=topic, partition=partition, offset=offset,
                reason=reason)
    headers = [(t.H_REASON, reason.encode()), (t.H_STAGE, stage.encode()),
               (t.H_SOURCE_TOPIC, topic.encode()),
               (t.H_SOURCE_PARTITION, str(partition).encode()),
               (t.H_SOURCE_OFFSET, str(offset).encode())]
    await send(app, stage, t.dlq(topic), value, headers=headers)
    DEAD_LETTERS.labels(stage, topic).inc()
