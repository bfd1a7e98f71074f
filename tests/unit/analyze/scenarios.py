"""Synthetic per-minute series of one slice, with optional incidents, and replay helpers.

Three weeks of minutes from a Monday: a daily rhythm (peak mid-afternoon, trough
at night), quieter weekends, a day-to-day level wobble, and noise that follows
the volume (Poisson traffic, binomial errors, judge scores averaged over the
sampled traces). Everything is drawn from one seeded RNG, so a scenario and its
incident-free twin differ only where the incident is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from vigil.analyze.detect.anomaly import SIGNALS, Finding, detect_series

START = datetime(2025, 3, 3, tzinfo=UTC)     # a Monday
DAY, WEEK = 1440, 7 * 1440
METRICS = ("requests", "cost_usd", "latency_p95_ms", "error_rate", "judge_score_mean")


@dataclass(frozen=True)
class Incident:
    signal: str
    start: int            # minute offset from START
    minutes: int = 120
    traffic: float = 1.0  # multiplier of the request rate
    cost: float = 1.0     # multiplier of the cost per request
    latency: float = 1.0  # multiplier of p95 latency
    error_rate: float | None = None
    judge_score: float | None = None


def load_shape(minute: np.ndarray) -> np.ndarray:
    """Relative volume: 0.1 at 3:00, 1.0 at 15:00 on weekdays; weekends at 60 %."""
    hour = (minute % DAY) / 60
    daily = 0.55 + 0.45 * np.sin(2 * np.pi * (hour - 9) / 24)
    weekend = ((minute // DAY) % 7) >= 5
    return daily * np.where(weekend, 0.6, 1.0)


def make_slice(weeks: int = 3, seed: int = 7, incident: Incident | None = None,
               peak_rpm: float = 200.0) -> pd.DataFrame:
    """A DataFrame indexed by UTC minute with the columns of METRICS."""
    rng = np.random.default_rng(seed)
    n = weeks * WEEK
    minute = np.arange(n)
    day_level = rng.normal(1.0, 0.03, size=weeks * 7)[minute // DAY]
    load = load_shape(minute) * day_level
    traffic = np.ones(n)
    cost = np.ones(n)
    latency = np.ones(n)
    p_err = np.full(n, 0.005)
    score = np.full(n, 0.85)
    if incident is not None:
        at = slice(incident.start, incident.start + incident.minutes)
        traffic[at], cost[at], latency[at] = incident.traffic, incident.cost, incident.latency
        if incident.error_rate is not None:
            p_err[at] = incident.error_rate
        if incident.judge_score is not None:
            score[at] = incident.judge_score
    # draw every random stream in full, always in the same order (twins stay aligned)
    requests = rng.poisson(peak_rpm * load * traffic).astype(float)
    has = requests > 0
    safe = np.maximum(requests, 1)
    cost_usd = requests * 0.002 * cost * np.exp(rng.normal(0, 0.3, n) / np.sqrt(safe))
    p95 = 900 * (1 + 0.3 * load) * latency * np.exp(rng.normal(0, 0.08, n))
    errors = rng.binomial(requests.astype(np.int64), p_err)
    judged = rng.binomial(requests.astype(np.int64), 0.05)
    judge = np.clip(score + rng.normal(0, 0.12, n) / np.sqrt(np.maximum(judged, 1)), 0, 1)
    index = pd.date_range(START, periods=n, freq="min")
    return pd.DataFrame({
        "requests": requests,
        "cost_usd": cost_usd,
        "latency_p95_ms": np.where(has, p95, np.nan),
        "error_rate": np.where(has, errors / safe, np.nan),
        "judge_score_mean": np.where(judged > 0, judge, np.nan),
    }, index=index)


def replay(frame: pd.DataFrame, signal: str, first: int, last: int,
           window: int = 15) -> Iterator[tuple[int, Finding]]:
    """Run the detector on consecutive `window`-minute windows ending in [first, last].

    Windows are aligned to multiples of `window` minutes; history is everything
    before the window. Yields (last minute of the window, finding) when it fires.
    """
    series = frame[SIGNALS[signal].metric]
    counts = frame["requests"]
    end = first + (-(first + 1)) % window           # the first aligned window end >= first
    for e in range(end, last + 1, window):
        lo = e - window + 1
        found = detect_series(series.iloc[:lo], series.iloc[lo:e + 1], signal,
                              counts=counts.iloc[lo:e + 1])
        if found is not None:
            yield e, found


def false_alerts(frame: pd.DataFrame, signals: list[str], window: int = 15,
                 week: int = 2) -> dict[str, int]:
    """Findings per signal over a whole week (index `week`) of an incident-free slice."""
    first, last = week * WEEK, (week + 1) * WEEK - 1
    return {s: sum(1 for _ in replay(frame, s, first, last, window)) for s in signals}


def detection_delay(frame: pd.DataFrame, incident: Incident, window: int = 15,
                    horizon: int = 4) -> int | None:
    """Minutes from the incident start until the first window that flags it closes.

    None when no window within `horizon` windows of the start flags it.
    """
    last = incident.start + horizon * window
    for e, _ in replay(frame, incident.signal, incident.start, last, window):
        return e + 1 - incident.start
    return None
