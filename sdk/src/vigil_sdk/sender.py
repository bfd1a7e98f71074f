"""The sender thread: queue -> protobuf -> batches -> collector, or the spill directory.

Contract
- Takes up to ``batch_size`` items from the queue, waiting at most
  ``flush_interval_s`` after the first one (not at all while a flush waits),
  builds the protobufs (an item that cannot become an event is dropped as
  ``bad_argument``) and sends the traces with ``EmitBatch`` (split to stay under
  ``max_batch_bytes``) and each feedback with ``SubmitFeedback``.
- Transient failure (collector down, deadline, overload): the parcel goes to the
  spill directory, the collector is considered down for a backoff that doubles
  from ``backoff_initial_s`` to ``backoff_max_s``, and meanwhile the queue is
  moved to the spill directory without trying the network. Without a spill
  directory the parcel is held in memory and retried after each backoff, and
  the queue is not read meanwhile (it fills up; the app's calls are then dropped
  as ``queue_full``, never blocked).
- Replay: while the spill directory has parcels (and this client owns it), the
  oldest is sent before the queue is read; its file is deleted only after the
  collector answered it. If the queue fills to half meanwhile, or a flush waits,
  queued items are appended to the spill directory, keeping the order.
- Permanent answers: per-event INVALID_ARGUMENT -> ``rejected`` (the rest of the
  batch is sent); UNAUTHENTICATED -> dropped ``unauthenticated``; a request too
  large for the server is split in halves.
- On stop: what is still in memory goes to the collector if it is up, else to
  the spill directory, else is dropped as ``closed``.
- The thread never dies of an error: an unexpected exception is counted in
  ``last_error`` and the loop continues.
- Time is an input: ``clock`` (monotonic seconds), ``pause`` (wait up to N seconds,
  True when stopping) and ``jitter`` (the backoff's random factor) default to the real
  ones; tests drive them.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil_protos.v1 import events_pb2, ingest_pb2
from vigil_sdk import stats as reasons
from vigil_sdk.build import feedback_event, trace_event
from vigil_sdk.items import PendingFeedback, PendingTrace
from vigil_sdk.spill import Parcel, SpillDir, parcel_size
from vigil_sdk.stats import Counters
from vigil_sdk.transport import Answer, Transport

log = logging.getLogger("vigil_sdk")
WAKE = object()  # put on the queue to wake the sender at once (flush, close)
_LOCK_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class SenderConfig:
    app: str
    environment: str
    batch_size: int
    flush_interval_s: float
    spill_dir: Path | None  # None: no spilling
    max_spill_bytes: int
    max_batch_bytes: int = 4 * 1024 * 1024
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0


class Sender(threading.Thread):
    def __init__(self, items: queue.Queue[object], transport: Transport, counters: Counters,
                 config: SenderConfig, *, clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], bool] | None = None,
                 jitter: Callable[[], float] = lambda: random.uniform(0.5, 1.0)) -> None:
        super().__init__(name="vigil-sdk-sender", daemon=True)
        self._queue, self._transport = items, transport
        self._counters, self._config = counters, config
        self._stopping = threading.Event()
        self._clock, self._jitter = clock, jitter
        self._pause = pause or self._stopping.wait
        self._closing = False  # set once stopping: nothing is held any more
        self._urgent = 0  # flushes waiting: do not linger to fill batches
        self._urgent_lock = threading.Lock()
        self._held: deque[Parcel] = deque()  # unsent parcels when there is no spill dir
        self._spill: SpillDir | None = None
        self._down_until = 0.0  # monotonic time until which the collector is considered down
        self._backoff = config.backoff_initial_s
        self._next_lock_try = 0.0
        self._denied_logged = False

    # --- control, from other threads --------------------------------------------------

    def begin_flush(self) -> None:
        with self._urgent_lock:
            self._urgent += 1
        self.wake()

    def end_flush(self) -> None:
        with self._urgent_lock:
            self._urgent -= 1

    def stop(self) -> None:
        self._stopping.set()
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(queue.Full):  # when full, the sender has work anyway
            self._queue.put_nowait(WAKE)

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        self._spill = self._open_spill()
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception as exc:  # never let the thread die; count and go on
                self._counters.note_error(exc)
                log.exception("vigil sdk: unexpected error in the sender thread")
                self._pause(0.1)
        try:
            self._finish()
        except Exception as exc:
            self._counters.note_error(exc)
            log.exception("vigil sdk: unexpected error while stopping")
        finally:
            if self._spill is not None:
                self._spill.release()
            self._transport.close()

    def _step(self) -> None:
        if self._held:
            self._retry_held()
        elif self._clock() < self._down_until:
            self._stash(self._take(self._down_until - self._clock()))
        elif not self._replay_one():
            for parcel in self._take(self._config.flush_interval_s):
                self._deliver(parcel)

    def _finish(self) -> None:
        """Deliver or spill what is left in memory; without a spill dir, count it as closed."""
        self._closing = True
        held, self._held = list(self._held), deque()
        for parcel in held:
            self._deliver(parcel)
        while parcels := self._take(0):
            for parcel in parcels:
                self._deliver(parcel)

    # --- fresh parcels ----------------------------------------------------------------

    def _deliver(self, parcel: Parcel) -> None:
        if self._clock() < self._down_until:
            self._stash([parcel])
            return
        answer = self._send(parcel)
        if answer.outcome == "transient":
            self._mark_down(answer)
            self._stash([parcel])
        elif answer.outcome == "too_large" and parcel_size(parcel) > 1:
            for half in _halves(parcel):
                self._deliver(half)
        else:
            self._account(parcel, answer, replayed=False)

    def _retry_held(self) -> None:
        wait = self._down_until - self._clock()
        if wait > 0 and self._pause(wait):
            return
        answer = self._send(self._held[0])
        if answer.outcome == "transient":
            self._mark_down(answer)
            return
        parcel = self._held.popleft()
        if answer.outcome == "too_large" and parcel_size(parcel) > 1:
            self._held.extendleft(reversed(_halves(parcel)))
        else:
            self._account(parcel, answer, replayed=False)

    def _stash(self, parcels: list[Parcel]) -> None:
        """Keep parcels for later: in the spill directory, or in memory without one."""
        for parcel in parcels:
            n = parcel_size(parcel)
            if self._spill is None:
                if self._closing:
                    self._counters.drop(reasons.CLOSED, n, settles=True)
                else:
                    self._held.append(parcel)
                continue
            try:
                written = self._spill.write(parcel)
            except OSError as exc:
                self._counters.drop(reasons.SPILL_FULL, n, settles=True, error=exc)
                continue
            if written:
                self._counters.add_spilled(n)
            else:
                self._counters.drop(reasons.SPILL_FULL, n, settles=True)

    # --- replay -----------------------------------------------------------------------

    def _replay_one(self) -> bool:
        """Send the oldest spilled parcel; False when there is nothing to replay."""
        spill = self._spill
        if spill is None or not self._own(spill) or not spill.has_parcels():
            return False
        if self._queue.qsize() * 2 >= max(self._queue.maxsize, 2) or self._urgent:
            self._stash(self._take(0))  # behind the spilled parcels, so the order holds
        spilled = spill.oldest()
        if spilled is None:
            return False
        if spilled.parcel is None:
            self._counters.drop(reasons.SPILL_CORRUPT, error=f"unreadable {spilled.path.name}")
            spill.remove(spilled.path)
            return True
        answer = self._send(spilled.parcel)
        if answer.outcome == "transient":
            self._mark_down(answer)
            return True
        if answer.outcome == "too_large" and parcel_size(spilled.parcel) > 1:
            for half in _halves(spilled.parcel):  # to the end of the directory
                if not spill.write(half):
                    self._counters.drop(reasons.SPILL_FULL, parcel_size(half))
        else:
            self._account(spilled.parcel, answer, replayed=True)
        spill.remove(spilled.path)
        return True

    def _own(self, spill: SpillDir) -> bool:
        if not spill.owner and self._clock() >= self._next_lock_try:
            self._next_lock_try = self._clock() + _LOCK_RETRY_S
            try:
                spill.try_own()
            except OSError as exc:
                self._counters.note_error(exc)
        return spill.owner

    def _open_spill(self) -> SpillDir | None:
        root, limit = self._config.spill_dir, self._config.max_spill_bytes
        if root is None or limit <= 0:
            return None
        try:
            spill = SpillDir(root, limit)
            spill.try_own()
        except OSError as exc:
            self._counters.note_error(exc)
            log.warning("vigil sdk: spill directory %s unusable, not spilling: %s", root, exc)
            return None
        return spill

    # --- queue -> parcels -------------------------------------------------------------

    def _take(self, wait_s: float) -> list[Parcel]:
        return self._build(self._collect(wait_s))

    def _collect(self, wait_s: float) -> list[PendingTrace | PendingFeedback]:
        """Up to batch_size items: wait `wait_s` for the first, then linger for more."""
        items: list[PendingTrace | PendingFeedback] = []
        try:
            first = self._queue.get(timeout=wait_s) if wait_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return items
        if first is WAKE:
            return self._collect(0) if self._queue.qsize() else items
        items.append(first)  # type: ignore[arg-type]
        linger_until = self._clock() + self._config.flush_interval_s
        while len(items) < self._config.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = linger_until - self._clock()
                if self._urgent or self._stopping.is_set() or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is not WAKE:
                items.append(item)  # type: ignore[arg-type]
        return items

    def _build(self, items: list[PendingTrace | PendingFeedback]) -> list[Parcel]:
        traces: list[events_pb2.TraceEvent] = []
        parcels: list[Parcel] = []
        for item in items:
            try:
                if isinstance(item, PendingTrace):
                    traces.append(trace_event(item, self._config.app, self._config.environment))
                else:
                    parcels.append(ingest_pb2.SubmitFeedbackRequest(
                        feedback=feedback_event(item)))
            except Exception as exc:
                self._counters.drop(reasons.BAD_ARGUMENT, settles=True, error=exc)
        return [*_batches(traces, self._config.max_batch_bytes), *parcels]

    # --- the collector ----------------------------------------------------------------

    def _send(self, parcel: Parcel) -> Answer:
        try:
            if isinstance(parcel, ingest_pb2.EmitBatchRequest):
                return self._transport.emit_batch(parcel)
            return self._transport.submit_feedback(parcel)
        except Exception as exc:  # a custom transport that raises: retry later
            self._counters.note_error(exc)
            return Answer("transient", detail=repr(exc))

    def _account(self, parcel: Parcel, answer: Answer, *, replayed: bool) -> None:
        """Count a parcel the collector answered for good."""
        n = parcel_size(parcel)
        if answer.outcome == "unauthenticated":
            self._counters.drop(reasons.UNAUTHENTICATED, n, settles=not replayed,
                                error=answer.detail)
            if not self._denied_logged:
                self._denied_logged = True
                log.error("vigil sdk: the collector refused the API key: %s", answer.detail)
            self._mark_up()
            return
        self._mark_up()
        if answer.outcome != "ok":  # rejected as a whole (or a single event too large)
            self._counters.add_rejected(n, answer.detail or answer.outcome, replayed=replayed)
            return
        refused = [r for r in answer.results if r.code != 0]
        if refused:
            last = refused[-1]
            self._counters.add_rejected(len(refused), f"{last.field}: {last.reason}",
                                        replayed=replayed)
        self._counters.add_sent(n - len(refused), replayed=replayed)

    def _mark_down(self, answer: Answer) -> None:
        self._down_until = self._clock() + self._backoff * self._jitter()
        self._backoff = min(self._backoff * 2, self._config.backoff_max_s)
        if self._counters.set_collector_up(False):
            log.warning("vigil sdk: collector unreachable (%s); keeping events for later",
                        answer.detail)

    def _mark_up(self) -> None:
        self._down_until, self._backoff = 0.0, self._config.backoff_initial_s
        if self._counters.set_collector_up(True):
            log.info("vigil sdk: collector reachable")


def _batches(traces: list[events_pb2.TraceEvent], max_bytes: int
             ) -> list[ingest_pb2.EmitBatchRequest]:
    batches: list[ingest_pb2.EmitBatchRequest] = []
    current: list[events_pb2.TraceEvent] = []
    size = 0
    for event in traces:
        event_size = event.ByteSize() + 8
        if current and size + event_size > max_bytes:
            batches.append(ingest_pb2.EmitBatchRequest(events=current))
            current, size = [], 0
        current.append(event)
        size += event_size
    if current:
        batches.append(ingest_pb2.EmitBatchRequest(events=current))
    return batches


def _halves(parcel: Parcel) -> list[Parcel]:
    assert isinstance(parcel, ingest_pb2.EmitBatchRequest)
    middle = len(parcel.events) // 2
    return [ingest_pb2.EmitBatchRequest(events=parcel.events[:middle]),
            ingest_pb2.EmitBatchRequest(events=parcel.events[middle:])]
