"""Counters of what happened to the events an app handed to the SDK.

Every event (trace or feedback) ends in exactly one of: ``sent`` (the collector
accepted it), ``rejected`` (the collector said INVALID_ARGUMENT), a ``dropped``
reason, or the spill directory (``spilled``; replayed later, then ``sent``). The
counters are updated by the caller threads and the sender thread under one
lock; :meth:`Counters.snapshot` returns a consistent, immutable copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Why an event was dropped. The first two happen before the event is queued.
QUEUE_FULL = "queue_full"  # the bounded queue was full: the app was not slowed down
SAMPLED_OUT = "sampled_out"  # client-side sampling (traces only)
SPILL_FULL = "spill_full"  # collector down and the spill directory at its size limit
UNAUTHENTICATED = "unauthenticated"  # the collector refused the API key
BAD_ARGUMENT = "bad_argument"  # the app passed something that is not an event
CLOSED = "closed"  # recorded after close(), or still unsent when close() gave up
SPILL_CORRUPT = "spill_corrupt"  # a spill file that could not be read back


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of the client's counters (events = traces and feedback)."""

    recorded: int  # accepted into the queue (after sampling, before sending)
    sent: int  # acknowledged by the collector, replayed ones included
    rejected: int  # refused by the collector as invalid (INVALID_ARGUMENT)
    last_rejection: str | None  # "field: reason" of the latest rejection
    dropped: Mapping[str, int]  # reason -> events lost, see the reasons above
    spilled: int  # written to the spill directory while the collector was down
    replayed: int  # sent from the spill directory (a subset of `sent`)
    queued: int  # waiting in the queue right now
    last_error: str | None  # latest bad argument or unexpected internal error
    collector_up: bool | None  # None until the first answer
    # get_prompt(): hit (cached, fresh), stale (cached, older than the TTL: the server did
    # not answer a refresh yet), fetched (first fetch), fallback (the app's fallback, never
    # fetched), none (no fallback either: None returned), fetch_error (failed fetches)
    prompts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass(slots=True)
class Counters:
    """Thread-safe counters; ``settled`` lets :meth:`wait_settled` implement flush()."""

    recorded: int = 0
    sent: int = 0
    rejected: int = 0
    spilled: int = 0
    replayed: int = 0
    settled: int = 0  # recorded events whose fate is decided (sent/rejected/spilled/dropped)
    last_rejection: str | None = None
    last_error: str | None = None
    collector_up: bool | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    prompts: dict[str, int] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def add_recorded(self) -> None:
        with self.lock:
            self.recorded += 1

    def drop(self, reason: str, n: int = 1, *, settles: bool = False,
             error: BaseException | str | None = None) -> None:
        """Count `n` events lost for `reason`; `settles` when they had been recorded."""
        with self.lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + n
            if error is not None:
                self.last_error = _describe(error)
            if settles:
                self._settle(n)

    def prompt(self, outcome: str) -> None:
        with self.lock:
            self.prompts[outcome] = self.prompts.get(outcome, 0) + 1

    def note_error(self, error: BaseException | str) -> None:
        with self.lock:
            self.last_error = _describe(error)

    def add_sent(self, n: int, *, replayed: bool) -> None:
        with self.lock:
            self.sent += n
            if replayed:
                self.replayed += n
            else:
                self._settle(n)

    def add_rejected(self, n: int, reason: str, *, replayed: bool) -> None:
        with self.lock:
            self.rejected += n
            self.last_rejection = reason
            if not replayed:
                self._settle(n)

    def add_spilled(self, n: int) -> None:
        with self.lock:
            self.spilled += n
            self._settle(n)

    def set_collector_up(self, up: bool) -> bool:
        """Record the collector state; True when it changed."""
        with self.lock:
            changed = self.collector_up is not up
            self.collector_up = up
            return changed

    def _settle(self, n: int) -> None:
        self.settled += n
        self.lock.notify_all()

    def wait_settled(self, target: int, timeout_s: float) -> bool:
        """Wait until `target` recorded events are settled; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            while self.settled < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
            return True

    def snapshot(self, queued: int) -> Stats:
        with self.lock:
            return Stats(
                recorded=self.recorded, sent=self.sent, rejected=self.rejected,
                last_rejection=self.last_rejection,
                dropped=MappingProxyType(dict(self.dropped)), spilled=self.spilled,
                replayed=self.replayed, queued=queued, last_error=self.last_error,
                collector_up=self.collector_up,
                prompts=MappingProxyType(dict(self.prompts)),
            )


def _describe(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"[:500]
    return error[:500]
