"""An in-memory store reader that answers the analyzer's reads as `StoreReader` does,
for backtests of synthetic history (bench.backtest) and tests: no store, no API.

Per-minute points have the keys of the read API's series rows (`project_id`, `app`,
`model`, `minute` as "YYYY-MM-DD HH:MM:SS" UTC, `traces`, `cost_usd`,
`latency_p95_ms`, `errors`, `judgments`, `mean_score`, `feedback`,
`negative_feedback`). Drift samples come from `sampler(key, since, until, limit)`,
which returns trace rows with the drift features (see `drift_check.columns`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from vigil.analyze.alerting import Observation
from vigil.analyze.model import SliceKey
from vigil.core.budgets import Budget

Sampler = Callable[[SliceKey, datetime, datetime, int], list[dict[str, Any]]]


def minute_text(t: datetime) -> str:
    """A minute as the read API writes it (UTC, no zone)."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class MemoryReader:
    def __init__(self, points: list[dict[str, Any]], sampler: Sampler | None = None) -> None:
        keyed = sorted(((_parse(p["minute"]), p) for p in points), key=lambda mp: mp[0])
        self._minutes = [m for m, _ in keyed]
        self._points = [p for _, p in keyed]
        self._sampler = sampler
        self.series_calls: list[tuple[datetime, datetime]] = []

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        self.series_calls.append((since, until))
        return self._between(since, until)

    def _between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        lo = bisect.bisect_left(self._minutes, since)
        return self._points[lo:bisect.bisect_left(self._minutes, until)]

    def sample(self, key: SliceKey, since: datetime, until: datetime, limit: int
               ) -> list[dict[str, Any]]:
        return self._sampler(key, since, until, limit) if self._sampler else []

    def spend(self, budget: Budget, since: datetime, until: datetime) -> tuple[float, float]:
        """Spend of the budget's project (or app) from the per-minute cost; a user's
        budget spends nothing here (the points are not per user)."""
        if budget.user:
            return 0.0, 0.0
        hour_ago = until.timestamp() - 3600
        total = last = 0.0
        for p in self._between(since, until):
            if p["project_id"] != budget.project or (budget.app and p["app"] != budget.app):
                continue
            total += p["cost_usd"]
            last += p["cost_usd"] if _parse(p["minute"]).timestamp() >= hour_ago else 0.0
        return total, last

    def ticket_states(self) -> dict[str, tuple[str, str]]:
        return {}

    def examples(self, obs: Observation, since: datetime, until: datetime
                 ) -> list[dict[str, Any]]:
        return []


def _parse(minute: str) -> datetime:
    return datetime.fromisoformat(minute).replace(tzinfo=UTC)
