"""The `min_count` floors of every detector: a slice with a handful of requests, judge
scores or feedback events in its window never pages, whatever its series does; at the
floor it does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from vigil.analyze.detect.anomaly import (
    MIN_FEEDBACK,
    MIN_JUDGMENTS,
    MIN_REQUESTS,
    SIGNALS,
    detect_series,
)
from vigil.analyze.history import SeriesHistory
from vigil.analyze.stage import counts_of, observe

WINDOW = 15
DAY = 1440
START = pd.Timestamp("2026-11-02 00:00", tz="UTC")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def flat(value: float, minutes: int = 2 * DAY + WINDOW, noise: float = 0.01) -> pd.Series:
    rng = np.random.default_rng(3)
    return pd.Series(value * (1 + rng.normal(0, noise, minutes)),
                     index=pd.date_range(START, periods=minutes, freq="min"))


def counts(total: int) -> pd.Series:
    """`total` events spread over the window's 15 minutes (integers, as stored)."""
    per = [total // WINDOW + (1 if m < total % WINDOW else 0) for m in range(WINDOW)]
    index = pd.date_range(START + pd.Timedelta(minutes=2 * DAY), periods=WINDOW, freq="min")
    return pd.Series(per, index=index, dtype="float64")


def split(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    return series.iloc[:-WINDOW], series.iloc[-WINDOW:]


def test_every_detector_has_a_floor() -> None:
    assert {s: spec.min_count for s, spec in SIGNALS.items()} == {
        "cost_spike": 30, "latency_regression": 30, "error_burst": 30, "quality_drop": 20,
        "negative_feedback": 20, "traffic_drop": 30, "traffic_spike": 30}
    assert (MIN_REQUESTS, MIN_JUDGMENTS, MIN_FEEDBACK) == (30, 20, 20)
    # what the cycle passes as the counts behind each signal (traffic counts itself)
    assert {s: counts_of(spec) for s, spec in SIGNALS.items()} == {
        "cost_spike": "requests", "latency_regression": "requests", "error_burst": "requests",
        "quality_drop": "judgments", "negative_feedback": "feedback", "traffic_drop": None,
        "traffic_spike": None}


@pytest.mark.parametrize("judged,fires", [(19, False), (20, True), (45, True), (5, False)])
def test_a_quality_drop_needs_min_count_judge_scores(judged: int, fires: bool) -> None:
    score = flat(0.85)
    score.iloc[-WINDOW:] = 0.4
    found = detect_series(*split(score), "quality_drop", counts=counts(judged))
    assert (found is not None) == fires
    if found is not None:
        assert found.signal == "quality_drop" and found.value == pytest.approx(0.4)


@pytest.mark.parametrize("requests,fires", [(5, False), (29, False), (30, True)])
def test_an_error_burst_needs_min_count_requests(requests: int, fires: bool) -> None:
    """Every call failing is still no burst on 5 or 29 calls: the binomial test alone
    would page on them (it does with the floor removed)."""
    rate = flat(0.005, noise=0.2)
    rate.iloc[-WINDOW:] = 1.0
    found = detect_series(*split(rate), "error_burst", counts=counts(requests))
    assert (found is not None) == fires
    unfloored = replace(SIGNALS["error_burst"], min_count=0)
    assert detect_series(*split(rate), "error_burst", counts=counts(requests),
                         spec=unfloored) is not None


@pytest.mark.parametrize("feedback,fires", [(10, False), (19, False), (20, True)])
def test_a_negative_feedback_rise_needs_min_count_feedback(feedback: int, fires: bool) -> None:
    rate = flat(0.02, noise=0.2)
    rate.iloc[-WINDOW:] = 0.6
    found = detect_series(*split(rate), "negative_feedback", counts=counts(feedback))
    assert (found is not None) == fires


@pytest.mark.parametrize("per_minute,fires", [(1.0, False), (1.9, False), (2.0, True),
                                              (3.0, True)])
def test_a_traffic_drop_needs_min_count_expected_requests(per_minute: float,
                                                          fires: bool) -> None:
    """With the absolute floor lowered (as a small slice needs), the expected requests
    in the window (baseline x 15 minutes) still have to reach 30: a slice of one
    request a minute going quiet is not an outage page."""
    spec = replace(SIGNALS["traffic_drop"], min_abs=0.0)
    traffic = flat(per_minute)
    traffic.iloc[-WINDOW:] = 0.0
    found = detect_series(*split(traffic), "traffic_drop", spec=spec)
    assert (found is not None) == fires
    assert detect_series(*split(traffic), "traffic_drop",
                         spec=replace(spec, min_count=0)) is not None


@pytest.mark.parametrize("spike_to,fires", [(1.9, False), (2.0, True)])
def test_a_traffic_spike_needs_min_count_requests_in_the_window(spike_to: float,
                                                                fires: bool) -> None:
    spec = replace(SIGNALS["traffic_spike"], min_abs=0.0)
    traffic = flat(0.5)
    traffic.iloc[-WINDOW:] = spike_to      # 4x normal: 28.5 or 30 requests in the window
    found = detect_series(*split(traffic), "traffic_spike", spec=spec)
    assert (found is not None) == fires


def test_the_default_traffic_drop_of_a_slice_of_4_a_minute_does_not_page() -> None:
    traffic = flat(4.0)
    traffic.iloc[-WINDOW:] = 0.0
    assert detect_series(*split(traffic), "traffic_drop") is None


def _history(judgments: int) -> SeriesHistory:
    """Three days of one slice, 60 requests a minute, `judgments` judge scores a minute;
    the last 15 minutes score 0.4 instead of 0.85."""
    rng = np.random.default_rng(7)
    points = []
    minutes = 3 * DAY
    for i in range(minutes):
        minute = NOW - timedelta(minutes=minutes - i)
        late = i >= minutes - WINDOW
        points.append({
            "project_id": "p", "app": "bot", "model": "gpt-4o",
            "minute": minute.strftime("%Y-%m-%d %H:%M:%S"), "traces": 60,
            "cost_usd": 0.5, "latency_p95_ms": float(rng.normal(800, 40)),
            "errors": 0, "judgments": judgments,
            "mean_score": 0.4 if late else float(rng.normal(0.85, 0.02)),
            "feedback": 0, "negative_feedback": 0})
    history = SeriesHistory()
    history.merge(points)
    return history


@pytest.mark.parametrize("judgments,signals", [(1, []), (2, ["quality_drop"])])
def test_the_cycle_counts_judge_scores_for_the_quality_floor(judgments: int,
                                                             signals: list[str]) -> None:
    """One judge score a minute (15 in the window) is under the floor of 20; two (30)
    pass it: the cycle passes the stored judgments per minute as the counts."""
    found = observe(_history(judgments), NOW, window_minutes=WINDOW)
    assert sorted(o.signal for o in found) == signals
