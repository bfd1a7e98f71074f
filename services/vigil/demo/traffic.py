"""The demo adapter's loop: ``run_demo`` sends about ``rate`` events per second over
``grpc.aio.insecure_channel(target)``: a batch every 100-200 ms, alternating EmitBatch and
EmitStream, every tenth batch as single Emit calls, then SubmitFeedback for that batch's
feedback (how each call is sent and retried is ``vigil.demo.sender``'s). It stops when
``duration_s`` has passed or ``stop`` is set.

Before the live loop it can back-fill history (``backfill_minutes``): the same world and
rate, with past timestamps and no incidents, sent as fast as ingest takes it, up to the
present, so the analyzer has baselines at once. Then incidents follow a ``DemoSchedule``
(``vigil.demo.schedule``) starting at ``schedule_start``, by default the moment the
back-fill is done, which it writes to ``ready_file``: a restarted demo that finds the file
sends no back-fill again and keeps its schedule."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from vigil.demo.schedule import DemoSchedule
from vigil.demo.sender import DemoLogger, DemoStats, Halt, Sender
from vigil.demo.world import DemoWorld
from vigil_protos.v1 import ingest_pb2_grpc

_LOG = logging.getLogger("vigil.demo")
_TICK_MIN_S, _TICK_MAX_S = 0.1, 0.2
_MAX_CATCH_UP_S = 1.0
_REPORT_EVERY_S = 10.0
_BACKFILL_CHUNK = timedelta(seconds=40)
_BACKFILL_BATCH = 2000  # big batches: ingest makes full records, and every stage
# (the judge above all, which handles one record at a time) pays its per-record cost less
_CAUGHT_UP = timedelta(seconds=2)


@dataclass(slots=True)
class _Pacer:
    rate: float
    last: float | None = None
    carry: float = 0.0

    def due(self, now_s: float) -> int:
        elapsed = 0.0 if self.last is None else min(now_s - self.last, _MAX_CATCH_UP_S)
        self.last = now_s
        self.carry += self.rate * elapsed
        n = int(self.carry)
        self.carry -= n
        return n


def _mode(tick: int) -> str:
    if tick % 10 == 9:
        return "emit"
    return "batch" if tick % 2 == 0 else "stream"


async def _send_tick(
    world: DemoWorld, sender: Sender, n: int, tick: int, now: datetime | None = None,
    spread_s: float | None = None,
) -> None:
    now = now or datetime.now(UTC)
    events = world.next_events(n, now, spread_s)
    await sender.send_events(events, _mode(tick))
    for feedback in world.feedback_for(events, now):
        if sender.halt.is_set():
            return
        await sender.send_feedback(feedback)


def backfill_chunks(
    since: datetime, until: datetime, rate: float
) -> Iterator[tuple[datetime, int]]:
    """(end, events) of each back-fill chunk from ``since`` to ``until``: ``rate`` events
    per second, in chunks of 40 s (the last one may be shorter)."""
    end, carry = since, 0.0
    while end < until:
        step = min(_BACKFILL_CHUNK, until - end)
        end += step
        carry += rate * step.total_seconds()
        n = int(carry)
        carry -= n
        yield end, n


async def _backfill(world: DemoWorld, sender: Sender, rate: float, since: datetime) -> None:
    """Send history from ``since`` until caught up with the wall clock (it moves on while
    the back-fill runs)."""
    cursor = since
    while not sender.halt.is_set():
        now = datetime.now(UTC)
        if now - cursor <= _CAUGHT_UP:
            return
        start = cursor
        for end, n in backfill_chunks(cursor, now, rate):
            if sender.halt.is_set():
                return
            span = end - start  # the chunk's events fill its span, batch after batch
            for i in range(0, n, _BACKFILL_BATCH):
                batch = min(_BACKFILL_BATCH, n - i)
                await _send_tick(world, sender, batch, 0, start + span * (i + batch) / n,
                                 span.total_seconds() * batch / n)
            start = end
        cursor = now
        sender.log.info(f"demo: back-filled until {cursor:%H:%M:%S}: {sender.stats}")


def _started(ready_file: Path | None) -> datetime | None:
    """When the schedule of an earlier run of this demo started (its ready file), if any."""
    if ready_file is None or not ready_file.exists():
        return None
    return datetime.fromisoformat(ready_file.read_text(encoding="utf-8").strip())


async def _pump(world: DemoWorld, sender: Sender, rate: float) -> None:
    pacer, tick = _Pacer(rate), 0
    next_report = time.monotonic() + _REPORT_EVERY_S
    while not sender.halt.is_set():
        n = pacer.due(time.monotonic())
        if n:
            await _send_tick(world, sender, n, tick)
            tick += 1
        if time.monotonic() >= next_report:
            sender.log.info(f"demo: {sender.stats}")
            next_report += _REPORT_EVERY_S
        await sender.halt.sleep(sender.rng.uniform(_TICK_MIN_S, _TICK_MAX_S))


async def run_demo(
    target: str,
    api_key: str,
    rate: float,
    duration_s: float | None,
    stop: asyncio.Event | None = None,
    seed: int = 7,
    log: DemoLogger | None = None,
    schedule_start: datetime | None = None,
    backfill_minutes: float = 0.0,
    ready_file: Path | None = None,
) -> DemoStats:
    """Send demo traffic to the IngestService at ``target`` until duration or ``stop``:
    first the back-fill (see the module docstring), then live."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    logger = log or _LOG
    deadline = None if duration_s is None else time.monotonic() + duration_s
    halt = Halt(stop or asyncio.Event(), deadline)
    stats = DemoStats()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        metadata = (("authorization", f"Bearer {api_key}"),)
        sender = Sender(stub, metadata, stats, halt, logger, random.Random(seed + 1))
        world = DemoWorld(seed)  # the back-filled history has no incidents
        start = schedule_start or _started(ready_file)
        if start is None and backfill_minutes > 0:
            since = datetime.now(UTC) - timedelta(minutes=backfill_minutes)
            logger.info(f"demo: back-filling from {since:%H:%M} UTC at {rate:g} events/s")
            await _backfill(world, sender, rate, since)
        start = start or datetime.now(UTC)
        if ready_file is not None and not halt.is_set() and not ready_file.exists():
            ready_file.write_text(start.isoformat(), encoding="utf-8")
        world.schedule = DemoSchedule(start)
        logger.info(f"demo: sending about {rate:g} events/s to {target}; incidents from "
                    f"{start:%H:%M:%S} UTC")
        await _pump(world, sender, rate)
    logger.info(f"demo: finished: {stats}")
    return stats
