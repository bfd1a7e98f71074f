"""Per-minute series and what the detectors report about them.

A series is either a pandas Series indexed by minute timestamps or a list of
`(datetime, float)` pairs; timestamps are UTC (naive ones are taken as UTC) and
are floored to the minute. NaN means "no data in that minute". Internally a
series becomes a `Grid`: one float per minute from its first to its last minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import pandas as pd

from vigil.core.alerts import Severity

Direction = Literal["up", "down"]
MinuteSeries = pd.Series | Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Finding:
    """One detected deviation of a slice's signal.

    `value` is the observed aggregate of the analysis window, `baseline` what was
    expected, `threshold` where it starts to fire, `score` the robust z
    ((value - baseline) / robust sigma; 0 for threshold rules) and `at` the last
    minute of the window (UTC).
    """

    signal: str
    direction: Direction
    value: float
    baseline: float
    threshold: float
    score: float
    at: datetime
    detail: str
    severity: Severity | None = None   # set by threshold rules; else left to the analyzer


@dataclass(frozen=True)
class Grid:
    """Values per minute: `values[i]` is minute `start + i` (minutes since the epoch)."""

    start: int
    values: np.ndarray

    @property
    def end(self) -> int:
        """The last minute (inclusive)."""
        return self.start + len(self.values) - 1

    def at(self, minute: int) -> datetime:
        return datetime.fromtimestamp(minute * 60, tz=UTC)

    def tail(self, minutes: int) -> np.ndarray:
        return self.values[max(0, len(self.values) - minutes):]


def _minutes(index: pd.Index) -> np.ndarray:
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("s").asi8 // 60


def to_grid(series: MinuteSeries) -> Grid:
    """The series on a regular minute grid (missing minutes NaN; duplicates: last wins)."""
    if isinstance(series, pd.Series):
        minutes = _minutes(series.index)
        vals = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        pairs = list(series)
        minutes = np.array([_epoch_minute(t) for t, _ in pairs], dtype=np.int64)
        vals = np.array([np.nan if v is None else float(v) for _, v in pairs], dtype=float)
    if len(minutes) == 0:
        return Grid(0, np.empty(0))
    start = int(minutes.min())
    out = np.full(int(minutes.max()) - start + 1, np.nan)
    out[minutes - start] = vals
    return Grid(start, out)


def concat(history: Grid, window: Grid) -> Grid:
    """History followed by the window on one grid (the window wins where they overlap)."""
    if len(history.values) == 0:
        return window
    start = min(history.start, window.start)
    out = np.full(max(history.end, window.end) - start + 1, np.nan)
    out[history.start - start:history.end - start + 1] = history.values
    out[window.start - start:window.end - start + 1] = window.values
    return Grid(start, out)


def _epoch_minute(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() // 60)
