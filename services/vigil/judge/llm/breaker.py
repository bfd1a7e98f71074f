"""The LLM judge's circuit breaker: closed -> open (after `failures` consecutive
failures) -> one probe -> closed or open. Time comes from the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from vigil.runtime.logs import get_logger

log = get_logger(__name__)


class CircuitBreaker:
    """Closed -> open (after `failures` consecutive failures) -> one probe -> closed or open."""

    def __init__(self, failures: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold, self._cooldown, self._clock = failures, cooldown_s, clock
        self._failures = 0
        self._open_until: float | None = None
        self._probe = 0  # the token of the probe in flight, 0 when none
        self._tokens = 0
        self._changed = asyncio.Event()
        self.opens = 0

    @property
    def state(self) -> str:
        if self._open_until is None:
            return "closed"
        return "half_open" if self._probe else "open"

    async def admit(self) -> int:
        """Wait until a call may go out; returns a token for `release` (non-zero for a probe)."""
        while self._open_until is not None:
            changed = self._changed
            if self._probe:
                await changed.wait()
                continue
            remaining = self._open_until - self._clock()
            if remaining <= 0:
                self._tokens += 1
                self._probe = self._tokens
                return self._probe
            with contextlib.suppress(TimeoutError):  # the cooldown is over
                await asyncio.wait_for(changed.wait(), remaining)
        return 0

    def success(self) -> None:
        self._failures = 0
        if self._open_until is not None:
            self._open_until, self._probe = None, 0
            log.info("judge endpoint back, circuit breaker closed")
            self._notify()

    def failure(self) -> None:
        self._failures += 1
        if self._probe or (self._open_until is None and self._failures >= self._threshold):
            if self._open_until is None:
                log.warning("judge endpoint failing, circuit breaker open",
                            consecutive_failures=self._failures, cooldown_s=self._cooldown)
            self._open_until, self._probe = self._clock() + self._cooldown, 0
            self.opens += 1
            self._notify()

    def release(self, token: int) -> None:
        """End of a call: a probe that reported nothing (cancelled) lets another probe go."""
        if token and token == self._probe:
            self._probe = 0
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
