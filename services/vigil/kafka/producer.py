"""Sending from a faust stage: confirmed sends with retry, signed output, dead-lettering."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from vigil.kafka import topics as t
from vigil.kafka.signing import sign
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import DEAD_LETTERS

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
    """Send `value` to `<source topic>.dlq` with the reason and its origin in headers
    (unsigned: it is what a consumer refused, see vigil.kafka.signing)."""
    topic, partition, offset = source
    log.warning("dead-lettered", stage=stage, topic=topic, partition=partition, offset=offset,
                reason=reason)
    headers = t.dead_letter_headers(stage, source, reason)
    await send(app, stage, t.dlq(topic), value, headers=headers)
    DEAD_LETTERS.labels(stage, topic).inc()


MAX_RECORD_BYTES = 800_000  # below the producer's 1 MB request limit


def json_line_records(lines: list[bytes], max_bytes: int = MAX_RECORD_BYTES) -> list[bytes]:
    """JSON lines packed into as few records as fit under `max_bytes` each (a single
    larger line gets a record of its own)."""
    records: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > max_bytes:
            records.append(b"\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        records.append(b"\n".join(chunk))
    return records


async def send_lines(app: faust.App, stage: str, topic: str, lines: list[bytes],
                     secret: bytes, partition: int | None = None) -> None:
    """Send JSON lines as records small enough for Kafka, each signed and confirmed."""
    for record in json_line_records(lines):
        await send(app, stage, topic, record, partition=partition,
                   headers=[sign(secret, record)])
