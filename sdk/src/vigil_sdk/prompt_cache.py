"""The SDK's prompt cache: one entry per (name, label), kept `ttl_s`, refreshed ahead.

Rules (the clock is an argument, so tests drive them):
- an entry younger than ``ttl_s`` is a **hit**; once it is older than
  ``refresh_after * ttl_s`` a background refresh is started (one per key at a time), so
  a busy app normally never sees an expired entry;
- an entry older than ``ttl_s`` is served **stale** (counted) while a refresh runs: a
  server that is down or slow never blocks the app nor takes its prompt away;
- without an entry the first call fetches in the caller's thread, bounded by the
  fetcher's timeout; when that fails the caller gets nothing (the client then uses the
  app's fallback), and later calls do not wait again: they get nothing at once while
  background fetches retry;
- after a failed fetch the next one starts no sooner than ``retry_s`` later.

The fetch callable returns a :class:`Delivery` or raises (``refresh_fetch``, when given,
is the one background refreshes use: the client's waits for a reconnecting channel,
the caller's first fetch fails fast); the refresher runs a callable in the background
(a daemon thread by default; tests run them by hand).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from vigil_sdk.prompts import PromptContent

Lookup = Literal["hit", "stale", "fetched", "miss"]


@dataclass(frozen=True, slots=True)
class RolloutInfo:
    rollout_id: str
    candidate: PromptContent
    percent: float
    split_by: str
    segment: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the server answered for (name, label): the label's version and its rollout."""

    label: str
    prompt: PromptContent
    rollout: RolloutInfo | None = None


@dataclass(slots=True)
class _Entry:
    delivery: Delivery | None
    fetched_at: float  # when `delivery` was fetched
    failed_at: float | None = None  # the last failed fetch since
    refreshing: bool = False


def _thread(job: Callable[[], None]) -> None:
    threading.Thread(target=job, name="vigil-prompt-refresh", daemon=True).start()


class PromptCache:
    def __init__(self, fetch: Callable[[str, str], Delivery], *, ttl_s: float = 60.0,
                 refresh_after: float = 0.8, retry_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 refresher: Callable[[Callable[[], None]], None] = _thread,
                 on_error: Callable[[BaseException], None] = lambda _: None,
                 refresh_fetch: Callable[[str, str], Delivery] | None = None) -> None:
        if ttl_s <= 0 or not 0 < refresh_after <= 1 or retry_s < 0:
            raise ValueError("prompt_ttl_s must be positive (refresh_after in (0, 1], "
                             "retry_s >= 0)")
        self._fetch = fetch
        self._refresh_fetch = refresh_fetch or fetch
        self._ttl = ttl_s
        self._refresh_at = ttl_s * refresh_after
        self._retry = retry_s
        self._clock = clock
        self._refresher = refresher
        self._on_error = on_error
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, name: str, label: str) -> tuple[Delivery | None, Lookup]:
        """The delivery for (name, label) and how it was found."""
        key = (name, label)
        entry = self._entries.get(key)  # a dict read is atomic: the hit path takes no lock
        now = self._clock()
        if entry is None:
            delivery = self._fetch_now(key)
            return delivery, "fetched" if delivery is not None else "miss"
        if entry.delivery is None:  # the first fetch failed: retry in the background
            self._refresh(key, entry, now)
            return None, "miss"
        age = now - entry.fetched_at
        if age < self._refresh_at:
            return entry.delivery, "hit"
        self._refresh(key, entry, now)
        return entry.delivery, "hit" if age < self._ttl else "stale"

    def _fetch_now(self, key: tuple[str, str]) -> Delivery | None:
        try:
            delivery = self._fetch(*key)
        except Exception as exc:
            self._on_error(exc)
            with self._lock:
                self._entries.setdefault(key, _Entry(None, 0.0, self._clock()))
            return None
        with self._lock:
            self._entries[key] = _Entry(delivery, self._clock())
        return delivery

    def _refresh(self, key: tuple[str, str], entry: _Entry, now: float) -> None:
        """Fetch again in the background: one fetch per key at a time, and after a
        failure not before `retry_s` passed."""
        with self._lock:
            if entry.refreshing or (entry.failed_at is not None
                                    and now - entry.failed_at < self._retry):
                return
            entry.refreshing = True

        def job() -> None:
            try:
                delivery = self._refresh_fetch(*key)
            except Exception as exc:
                self._on_error(exc)
                with self._lock:
                    entry.refreshing, entry.failed_at = False, self._clock()
                return
            with self._lock:
                self._entries[key] = _Entry(delivery, self._clock())

        try:
            self._refresher(job)
        except Exception as exc:  # e.g. no thread can start at interpreter exit
            self._on_error(exc)
            with self._lock:
                entry.refreshing, entry.failed_at = False, self._clock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
