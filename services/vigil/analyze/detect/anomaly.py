"""Seasonality-aware robust anomaly detection on one slice's per-minute series.

Contract: `detect_series(history, current_window, signal, ...) -> Finding | None`,
a pure function. `current_window` is the analysis window (one entry per minute,
NaN where the slice had no data; e.g. the last 15 minutes), `history` the
minutes before it (ideally two weeks or more). Series are pandas Series indexed
by UTC minute or lists of `(datetime, float)` (see `series`).

The window's aggregate (median or mean of its minutes) is compared with a
baseline of the same aggregate over comparable past windows:

1. weekly: every window ending within +-30 min of the same minute-of-week in the
   previous (up to 4) weeks; median and MAD (x1.4826) of their aggregates;
2. daily, when there is too little of that: the same minute-of-day in the
   previous (up to 7) days;
3. EWMA, for short history: an exponentially weighted mean of the aggregates of
   consecutive windows over the trailing 24 h, with the MAD of its one-step
   residuals as the scale.

It fires only when the deviation (in `direction`) exceeds `z` robust sigmas AND
`min_ratio` relative change AND `min_abs` absolute change (so tiny wiggles never
page); the window holds at least `min_points` minutes with data and, given the
counts behind it (requests, judge scores, feedback), at least `min_count` of them
(small slices do not flap; a count signal such as traffic is its own count: the
larger of the window's sum and the baseline's expected sum must reach it); and,
for rates, it passes the floors of its preset (`min_value`, `min_events`, and a
binomial tail test `max_p` against the baseline rate: a few errors on little
traffic are noise, not a burst). Presets per signal are in `SIGNALS`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import binom

from vigil.analyze.detect.rules import ThresholdRule, check_rules, load_threshold_rules
from vigil.analyze.detect.series import Direction, Finding, Grid, MinuteSeries, concat, to_grid

__all__ = ["SIGNALS", "Baseline", "Finding", "SignalSpec", "ThresholdRule", "baseline",
           "check_rules", "detect_series", "load_threshold_rules"]

Aggregate = Literal["median", "mean"]
DAY, WEEK = 1440, 7 * 1440
BAND = 30              # minutes either side of the same minute-of-week / -of-day
MIN_SEASONAL = 30      # comparable past windows needed for a seasonal baseline
MIN_EWMA_WINDOWS = 8   # past windows needed for the EWMA baseline
MAD_TO_SIGMA = 1.4826
MEANAD_TO_SIGMA = 1.2533
IQR_TO_SIGMA = 1.349


@dataclass(frozen=True)
class SignalSpec:
    """What matters for one signal: the series it reads, the direction, the thresholds."""

    signal: str
    metric: str                   # the per-minute series the analyzer passes
    direction: Direction
    z: float = 5.0                # robust sigmas of deviation
    min_ratio: float = 0.5        # relative change vs the baseline
    min_abs: float = 0.0          # absolute change vs the baseline
    min_value: float | None = None  # the window must also be above (up) / below (down) this
    min_points: int = 5           # minutes with data in the window
    min_events: float = 0.0       # sum(value x count) in the window, when counts are given
    max_p: float | None = None    # rates with counts: binomial tail p-value vs the baseline
    min_count: float = 0.0        # sum(count) in the window (e.g. requests), when given
    aggregate: Aggregate = "median"
    missing_is_zero: bool = False  # counts: a minute without data is a zero


# The `min_count` floors: requests in the window for cost, latency and error bursts,
# judge scores for quality, feedback events for negative feedback, and for traffic the
# larger of the window's and the baseline's expected requests (a drop of a slice that
# normally sees a handful is not a page, even with a lower `min_abs`).
MIN_REQUESTS, MIN_JUDGMENTS, MIN_FEEDBACK = 30, 20, 20

SIGNALS: dict[str, SignalSpec] = {s.signal: s for s in (
    SignalSpec("cost_spike", "cost_usd", "up", min_ratio=0.5, min_count=MIN_REQUESTS),
    SignalSpec("latency_regression", "latency_p95_ms", "up", min_ratio=0.3,
               min_count=MIN_REQUESTS),
    # a burst needs >= 1 % errors and >= 5 errors in the window (given request counts)
    SignalSpec("error_burst", "error_rate", "up", min_ratio=1.0, min_value=0.01,
               min_events=5, max_p=1e-5, min_count=MIN_REQUESTS, aggregate="mean"),
    SignalSpec("quality_drop", "judge_score_mean", "down", z=4.0, min_ratio=0.1,
               min_count=MIN_JUDGMENTS, aggregate="mean"),
    SignalSpec("negative_feedback", "negative_feedback_rate", "up", z=4.0, min_ratio=1.0,
               min_value=0.05, min_events=5, max_p=1e-5, min_count=MIN_FEEDBACK,
               aggregate="mean"),
    SignalSpec("traffic_drop", "requests", "down", min_ratio=0.5, min_abs=5.0,
               min_count=MIN_REQUESTS, missing_is_zero=True),
    SignalSpec("traffic_spike", "requests", "up", min_ratio=1.0, min_abs=5.0,
               min_count=MIN_REQUESTS, missing_is_zero=True),
)}


@dataclass(frozen=True)
class Baseline:
    method: Literal["weekly", "daily", "ewma"]
    center: float
    sigma: float
    n: int          # comparable past windows it was computed from
    mean: float     # mean of the comparable minutes (the rate for the binomial test)


def _aggregate(rows: np.ndarray, how: Aggregate) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(rows, axis=-1) if how == "median" else np.nanmean(rows, axis=-1)


def _rolling(values: np.ndarray, width: int, need: int, how: Aggregate) -> np.ndarray:
    """The aggregate of every `width`-minute window holding at least `need` points."""
    if len(values) < width:
        return np.empty(0)
    rows = sliding_window_view(values, width)
    rows = rows[(~np.isnan(rows)).sum(axis=1) >= need]
    return _aggregate(rows, how) if len(rows) else np.empty(0)


def _seasonal(grid: Grid, end: int, width: int, period: int, periods: int, need: int,
              how: Aggregate) -> tuple[np.ndarray, np.ndarray]:
    """Aggregates of past windows ending within BAND minutes of `end - k * period`,
    and the minutes they cover."""
    aggs, minutes = [], []
    last_before = end - width     # the last minute before the current window
    for k in range(1, periods + 1):
        center = end - k * period
        lo, hi = center - BAND - width + 1, min(center + BAND, last_before)
        if hi < grid.start:
            break
        seg = grid.values[max(lo - grid.start, 0):hi - grid.start + 1]
        aggs.append(_rolling(seg, width, need, how))
        minutes.append(seg)
    if not aggs:
        return np.empty(0), np.empty(0)
    return np.concatenate(aggs), np.concatenate(minutes)


def _robust(values: np.ndarray) -> tuple[float, float]:
    """Median and robust sigma: the larger of MAD and IQR based (the MAD of small
    integer counts is too small), or the mean absolute deviation when both are 0
    (a sparse slice whose windows are mostly 0 still has a spread)."""
    center = float(np.median(values))
    dev = np.abs(values - center)
    q1, q3 = np.percentile(values, [25, 75])
    sigma = max(MAD_TO_SIGMA * float(np.median(dev)), float(q3 - q1) / IQR_TO_SIGMA)
    return center, sigma if sigma > 0 else MEANAD_TO_SIGMA * float(np.mean(dev))


def baseline(grid: Grid, end: int, width: int, spec: SignalSpec) -> Baseline | None:
    """The expected aggregate of the `width`-minute window ending at minute `end`.

    Its sigma is the robust spread of the past windows' aggregates, but at least
    the standard error of a window aggregate of independent minutes (1.2533 x the
    minutes' robust sigma / sqrt(width)): overlapping windows of a sparse, lumpy
    series look steadier than they are.
    """
    need = min(spec.min_points, width)
    for method, period, periods in (("weekly", WEEK, 4), ("daily", DAY, 7)):
        aggs, minutes = _seasonal(grid, end, width, period, periods, need, spec.aggregate)
        if len(aggs) >= MIN_SEASONAL:
            center, sigma = _robust(aggs)
            return Baseline(method, center,  # type: ignore[arg-type]
                            max(sigma, _standard_error(minutes, width)), len(aggs),
                            float(np.nanmean(minutes)))
    before = end - width + 1 - grid.start
    trailing = grid.values[max(before - DAY, 0):max(before, 0)]
    n = len(trailing) // width
    rows = trailing[len(trailing) - n * width:].reshape(n, width)
    rows = rows[(~np.isnan(rows)).sum(axis=1) >= need]
    if len(rows) < MIN_EWMA_WINDOWS:
        return None
    aggs = _aggregate(rows, spec.aggregate)
    level = pd.Series(aggs).ewm(halflife=4).mean().to_numpy()
    _, sigma = _robust(aggs[1:] - level[:-1])
    return Baseline("ewma", float(level[-1]),
                    max(sigma, _standard_error(rows.ravel(), width)), len(aggs),
                    float(np.nanmean(rows)))


def _standard_error(minutes: np.ndarray, width: int) -> float:
    values = minutes[~np.isnan(minutes)]
    return MEANAD_TO_SIGMA * _robust(values)[1] / np.sqrt(width) if len(values) else 0.0


def detect_series(history: MinuteSeries, current_window: MinuteSeries, signal: str,
                  direction: Direction | None = None, min_ratio: float | None = None,
                  z: float | None = None, min_points: int | None = None, *,
                  counts: MinuteSeries | None = None,
                  spec: SignalSpec | None = None) -> Finding | None:
    """A Finding when the window deviates from its baseline, else None.

    Thresholds come from `spec`, else `SIGNALS[signal]`, else generic defaults;
    the keyword arguments given override them. `counts` (events behind each minute
    of the window, e.g. requests) enables the `min_count` floor and the `min_events`
    and `max_p` checks of rate signals; pass it for small slices. Count signals
    (`missing_is_zero`, e.g. requests) apply `min_count` to themselves, without it.
    """
    base = spec or SIGNALS.get(signal) or SignalSpec(signal, signal, direction or "up")
    overrides = {"direction": direction, "min_ratio": min_ratio, "z": z,
                 "min_points": min_points}
    spec = replace(base, signal=signal, **{k: v for k, v in overrides.items() if v is not None})
    window = to_grid(current_window)
    width = len(window.values)
    if width == 0:
        return None
    grid = concat(to_grid(history), window)
    if spec.missing_is_zero:
        grid = Grid(grid.start, np.nan_to_num(grid.values, nan=0.0))
    end = window.end
    current = grid.values[end - width + 1 - grid.start:end + 1 - grid.start]
    points = int((~np.isnan(current)).sum())
    if points < spec.min_points:
        return None
    value = float(_aggregate(current, spec.aggregate))
    events, n = _events(current, window, counts) if counts is not None else (0.0, 0.0)
    if counts is not None and (events < spec.min_events or n < spec.min_count):
        return None
    b = baseline(grid, end, width, spec)
    if b is None:
        return None
    if spec.missing_is_zero and max(float(np.sum(current)), b.center * width) < spec.min_count:
        return None  # a count signal is its own count: observed or expected, too few
    sigma = max(b.sigma, 1e-3 * abs(b.center), 1e-12)
    margin = max(spec.z * sigma, spec.min_ratio * abs(b.center), spec.min_abs)
    if spec.direction == "up":
        threshold = b.center + margin
        if spec.min_value is not None:
            threshold = max(threshold, spec.min_value)
        fired = value > threshold
    else:
        threshold = b.center - margin
        if spec.min_value is not None:
            threshold = min(threshold, spec.min_value)
        fired = value < threshold
    if not fired:
        return None
    # a sparse slice's median rate (or even its rate in the comparable minutes) can be 0;
    # the whole history's rate keeps a handful of errors from looking impossible
    before = grid.values[:end - width + 1 - grid.start]
    rate = max(b.center, b.mean, float(np.nanmean(before)) if np.isfinite(before).any() else 0)
    if (counts is not None and spec.max_p is not None
            and _binomial_p(events, n, rate, spec.direction) >= spec.max_p):
        return None
    ratio = value / b.center if b.center else float("inf")
    detail = (f"{spec.metric}: {spec.aggregate} of {width} min = {value:.4g}, "
              f"{ratio:.2f}x the {b.method} baseline {b.center:.4g} "
              f"(robust sigma {sigma:.3g} over {b.n} past windows; {points} points)")
    return Finding(signal, spec.direction, value, b.center, threshold,
                   (value - b.center) / sigma, window.at(end), detail)


def _events(current: np.ndarray, window: Grid, counts: MinuteSeries) -> tuple[float, float]:
    """(sum of value x count, sum of count) over the window's minutes with data."""
    c = to_grid(counts)
    aligned = np.full(len(current), np.nan)
    lo, hi = max(c.start, window.start), min(c.end, window.end)
    if hi >= lo:
        aligned[lo - window.start:hi - window.start + 1] = c.values[lo - c.start:hi - c.start + 1]
    ok = ~np.isnan(current) & ~np.isnan(aligned)
    return float(np.sum(current[ok] * aligned[ok])), float(np.sum(aligned[ok]))


def _binomial_p(events: float, n: float, rate: float, direction: Direction) -> float:
    """How likely this many events (or more extreme) are at the baseline rate."""
    k, trials, p0 = round(events), round(n), min(max(rate, 1e-9), 1.0)
    if trials <= 0:
        return 1.0
    return float(binom.sf(k - 1, trials, p0) if direction == "up" else binom.cdf(k, trials, p0))
