"""Backtest: the analyzer's own cycle over stored history, on a simulated clock.

Contract: `run_backtest(settings, reader, start, end) -> BacktestResult`. It builds
the same `Analyzer` the service runs (detectors, seasonal baselines, drift checks,
threshold rules, budgets, the alert state machine and its cooldowns, all from
`settings`) and calls `cycle(now)` once per `analyzer_interval_s`, from `start`
to `end`, collecting every alert event the service would have published.

Nothing leaves it: no broker, no lease, no webhook, no store write. The reader
answers the reads `cycle` makes; `HistoryReader` prefetches the per-minute series
a day at a time and never looks further than the clock (a cycle at `now` sees the
minutes before `now` only), and it answers as if the store held no tickets of
its own (tickets opened by the real analyzer belong to the present, not to the
replayed past). Drift findings skip their evidently HTML report (it is for
people and changes no alert). The first cycle reads `analyzer_history_days`
before `start`, as the service does at start-up, so the history before `start`
is the baseline.

Unlike the live service, each cycle sees its minutes complete: events that
arrived late to the real store are in place on time here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from vigil.analyze.alerting import Observation
from vigil.analyze.model import SliceKey
from vigil.analyze.worker import AnalysisReader, Analyzer
from vigil.core.alerts import AlertEvent
from vigil.core.budgets import Budget
from vigil.runtime.logs import get_logger
from vigil.settings import Settings

log = get_logger(__name__)
WEEK = timedelta(days=7)
Progress = Callable[[int, int], None]   # (cycles done, cycles in all)


class HistoryReader:
    """The analyzer's reads over a store reader, for a clock that only moves forward:
    series prefetched in chunks (one request per `chunk`, not one per cycle), drift
    samples and spend passed through, no tickets and no examples."""

    def __init__(self, reader: AnalysisReader, end: datetime,
                 chunk: timedelta = timedelta(days=1)) -> None:
        self._reader, self._end, self._chunk = reader, end, chunk
        self._minutes: list[datetime] = []          # sorted, one per point
        self._points: list[dict[str, Any]] = []
        self._fetched: tuple[datetime, datetime] | None = None

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        self._fetch(since, until)
        lo = bisect.bisect_left(self._minutes, since)
        hi = bisect.bisect_left(self._minutes, until)
        return self._points[lo:hi]

    def _fetch(self, since: datetime, until: datetime) -> None:
        """Hold every point of [since, until), reading ahead up to a chunk."""
        stop = max(until, min(until + self._chunk, self._end))
        if self._fetched is None or since < self._fetched[0]:
            self._minutes, self._points = [], []
            self._load(since, stop)
            self._fetched = (since, stop)
        elif until > self._fetched[1]:
            self._load(self._fetched[1], stop)
            self._fetched = (self._fetched[0], stop)

    def _load(self, since: datetime, until: datetime) -> None:
        points = sorted(((_minute(p), p) for p in self._reader.series(since, until)),
                        key=lambda mp: mp[0])
        self._minutes.extend(m for m, _ in points)
        self._points.extend(p for _, p in points)

    def sample(self, key: SliceKey, since: datetime, until: datetime, limit: int
               ) -> list[dict[str, Any]]:
        return self._reader.sample(key, since, until, limit)

    def spend(self, budget: Budget, since: datetime, until: datetime) -> tuple[float, float]:
        return self._reader.spend(budget, since, until)

    def ticket_states(self) -> dict[str, tuple[str, str]]:
        return {}

    def examples(self, obs: Observation, since: datetime, until: datetime
                 ) -> list[dict[str, Any]]:
        return []


def _minute(point: dict[str, Any]) -> datetime:
    t = point["minute"]
    t = t if isinstance(t, datetime) else datetime.fromisoformat(str(t))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class BacktestResult:
    start: datetime
    end: datetime
    cycles: int
    events: list[AlertEvent] = field(default_factory=list)
    failed_cycles: int = 0      # cycles that raised (the service logs and skips them too)

    @property
    def pages(self) -> list[AlertEvent]:
        """Firing events: what the notifier would have delivered (escalations included)."""
        return [e for e in self.events if e.status == "firing"]

    @property
    def weeks(self) -> float:
        return (self.end - self.start) / WEEK

    def pages_per_signal(self) -> dict[str, int]:
        return dict(sorted(Counter(e.signal for e in self.pages).items()))

    def pages_per_week(self) -> float:
        return len(self.pages) / self.weeks if self.weeks > 0 else 0.0


def cycle_times(start: datetime, end: datetime, interval_s: float) -> list[datetime]:
    """Every cycle's `now` in [start, end], one per analyzer interval."""
    step = timedelta(seconds=interval_s)
    if step <= timedelta(0):
        raise ValueError("the analyzer interval must be positive")
    n = int((end - start) / step)
    return [start + i * step for i in range(n + 1)]


def run_backtest(settings: Settings, reader: AnalysisReader, start: datetime, end: datetime,
                 progress: Progress | None = None) -> BacktestResult:
    """Replay the analyzer over [start, end]; see the module docstring."""
    if end <= start:
        raise ValueError(f"the backtest must end after it starts ({start} .. {end})")
    analyzer = Analyzer(settings, HistoryReader(reader, end), evidently_reports=False)
    times = cycle_times(start, end, settings.analyzer_interval_s)
    events: list[AlertEvent] = []
    failed = 0
    for done, now in enumerate(times, start=1):
        try:
            cycle_events, _ = analyzer.cycle(now)
        except httpx.HTTPError:
            raise  # the history cannot be read: no honest result
        except Exception as exc:
            # as in the service: a failed cycle is logged and skipped, the next one runs
            failed += 1
            log.warning("backtest cycle failed; skipped as the analyzer would",
                        at=now.isoformat(), error=f"{type(exc).__name__}: {exc}"[:500])
            cycle_events = []
        events.extend(cycle_events)
        if progress is not None:
            progress(done, len(times))
    return BacktestResult(start, end, len(times), events, failed)


def event_row(event: AlertEvent) -> dict[str, Any]:
    """One alert event as the backtest's JSON output names it."""
    return {"time": event.event_time, "status": event.status, "signal": event.signal,
            "severity": event.severity, "project_id": event.project_id,
            "app": event.slice["app"], "model": event.slice["model"],
            "prompt_version": event.slice["prompt_version"],
            "environment": event.slice["environment"], "value": event.value,
            "expected": event.baseline, "threshold": event.threshold,
            "started_at": event.started_at, "dedupe_key": event.dedupe_key,
            "title": event.title}
