"""Per-key rate limits: one token bucket per API key (pure logic, injected clock).

A bucket holds up to `burst` tokens and refills at `rate` tokens per second. A
request of `n` units (events at ingest, requests at the read API) passes when
the bucket holds at least min(n, burst) tokens and then takes all `n`; the
balance may go negative, so a batch larger than the burst is still accepted
once the bucket is full and the key then waits until the debt is repaid. The
long-run rate per key therefore never exceeds `rate`. `rate <= 0` turns the
limit off. Buckets are keyed by the key's digest, so only authenticated keys
(a bounded set) ever get one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request over the limit: how long until the same request would pass."""

    retry_after_s: float
    rate: float
    unit: str

    @property
    def retry_after_whole_s(self) -> int:
        """For HTTP Retry-After, which takes whole seconds (never 0)."""
        return max(1, math.ceil(self.retry_after_s))

    def __str__(self) -> str:
        return (f"rate limit of {self.rate:g} {self.unit}/s for this API key exceeded; "
                f"retry in {self.retry_after_s:.2f} s")


class RateLimiter:
    def __init__(self, rate: float, burst: float = 0, unit: str = "events",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst if burst > 0 else rate  # default: one second's worth
        self.unit = unit
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # the read API calls from a thread pool

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, n: int = 1) -> Refusal | None:
        """Take `n` units for `key`; None when allowed, else a Refusal (nothing taken)."""
        if not self.enabled or n <= 0:
            return None
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            needed = min(float(n), self.burst)
            if bucket.tokens >= needed:
                bucket.tokens -= n
                return None
            return Refusal((needed - bucket.tokens) / self.rate, self.rate, self.unit)
