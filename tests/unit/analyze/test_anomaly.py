"""The anomaly detector on synthetic seasonal slices, and the threshold rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.analyze.scenarios import (
    DAY,
    START,
    WEEK,
    Incident,
    detection_delay,
    false_alerts,
    make_slice,
    replay,
)
from vigil.analyze.detect.anomaly import (
    SIGNALS,
    ThresholdRule,
    check_rules,
    detect_series,
    load_threshold_rules,
)
from vigil.analyze.model import SliceKey

WINDOW = 15
SCENARIO_SIGNALS = ["cost_spike", "latency_regression", "error_burst", "quality_drop",
                    "traffic_drop", "traffic_spike"]


def incidents(at: int) -> list[Incident]:
    return [Incident("cost_spike", at, cost=3.0),
            Incident("latency_regression", at, latency=2.0),
            Incident("error_burst", at, error_rate=0.08),        # from 0.5 %
            Incident("quality_drop", at, judge_score=0.6),       # from 0.85
            Incident("traffic_drop", at, traffic=0.2),
            Incident("traffic_spike", at, traffic=3.0)]


def scenario_delays(at: int, window: int = WINDOW, seed: int = 7) -> dict[str, int | None]:
    """Detection delay in minutes per scenario, each incident injected alone at `at`."""
    return {i.signal: detection_delay(make_slice(seed=seed, incident=i), i, window)
            for i in incidents(at)}


@pytest.mark.parametrize("seed", [7, 11])
def test_a_quiet_week_raises_no_alert(seed: int) -> None:
    counts = false_alerts(make_slice(seed=seed), SCENARIO_SIGNALS, WINDOW)
    print(f"\nfalse alerts over one week, {WINDOW}-min windows, seed {seed}: {counts}")
    assert sum(counts.values()) == 0


# minute offsets into the third week (the first two are history); starts mid-window
@pytest.mark.parametrize("label,at", [
    ("weekday peak", 2 * WEEK + 2 * DAY + 14 * 60 + 7),
    ("weekday night", 2 * WEEK + 3 * DAY + 3 * 60 + 7),
    ("weekend morning", 2 * WEEK + 5 * DAY + 10 * 60 + 52),
])
def test_each_incident_is_detected_within_two_windows(label: str, at: int) -> None:
    delays = scenario_delays(at)
    print(f"\ndetection delay in minutes ({label}, {WINDOW}-min windows): {delays}")
    late = {s: d for s, d in delays.items() if d is None or d > 2 * WINDOW}
    assert not late


def test_the_finding_says_what_and_how_much() -> None:
    at = 2 * WEEK + 2 * DAY + 14 * 60 + 7
    incident = Incident("latency_regression", at, latency=2.0)
    _, found = next(replay(make_slice(incident=incident), incident.signal, at, at + 60))
    assert found.signal == "latency_regression" and found.direction == "up"
    assert 1.8 < found.value / found.baseline < 2.2
    assert found.baseline < found.threshold < found.value and found.score > 5
    assert found.at.tzinfo is not None and "weekly baseline" in found.detail


@pytest.mark.parametrize("peak_rpm", [0.3, 1.5, 5.0])   # traces per minute at the daily peak
def test_small_slices_do_not_flap(peak_rpm: float) -> None:
    frame = make_slice(seed=3, peak_rpm=peak_rpm)
    counts = false_alerts(frame, SCENARIO_SIGNALS, WINDOW)
    print(f"\nfalse alerts of a slice with {peak_rpm} traces/min at peak: {counts}")
    assert sum(counts.values()) == 0


def flat(minutes: int, value: float, seed: int = 0, noise: float = 0.01) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(value * (1 + rng.normal(0, noise, minutes)),
                     index=pd.date_range(START, periods=minutes, freq="min"))


def split(series: pd.Series, window: int = WINDOW) -> tuple[pd.Series, pd.Series]:
    return series.iloc[:-window], series.iloc[-window:]


@pytest.mark.parametrize("history_minutes,method", [
    (WEEK + 2 * DAY, "weekly"), (2 * DAY, "daily"), (6 * 60, "ewma"), (60, None)])
def test_baseline_falls_back_with_short_history(history_minutes: int, method: str | None) -> None:
    s = flat(history_minutes + WINDOW, 1.0)
    s.iloc[-WINDOW:] *= 3
    found = detect_series(*split(s), "cost_spike")
    if method is None:
        assert found is None       # too little history to say anything
    else:
        assert found is not None and f"{method} baseline" in found.detail


@pytest.mark.parametrize("signal,factor,fires", [
    ("cost_spike", 3.0, True),
    ("cost_spike", 1.05, False),        # 5 % is many sigmas on a flat series, but too small
    ("cost_spike", 0.2, False),         # cost going down is not a spike
    ("latency_regression", 1.5, True),
    ("latency_regression", 1.2, False),
    ("quality_drop", 0.7, True),
    ("quality_drop", 0.95, False),
    ("traffic_drop", 0.2, True),
    ("traffic_spike", 3.0, True),
    ("traffic_drop", 3.0, False),
])
def test_presets_direction_and_ratio(signal: str, factor: float, fires: bool) -> None:
    level = {"quality_drop": 0.85, "traffic_drop": 200, "traffic_spike": 200}.get(signal, 10.0)
    s = flat(2 * DAY + WINDOW, level)
    s.iloc[-WINDOW:] *= factor
    found = detect_series(*split(s), signal)
    assert (found is not None) == fires
    if found is not None:
        assert found.direction == SIGNALS[signal].direction


def test_a_window_with_few_points_never_fires() -> None:
    s = flat(2 * DAY + WINDOW, 900.0)
    s.iloc[-WINDOW:] = np.nan
    s.iloc[-3:] = 9000.0                 # 3 slow traces: not enough to call a regression
    assert detect_series(*split(s), "latency_regression") is None
    assert detect_series(*split(s), "latency_regression", min_points=3) is not None


@pytest.mark.parametrize("base_rate,burst_rate,rpm,fires", [
    (0.005, 0.08, 200, True),
    (0.001, 0.005, 200, False),    # 5x, but under the 1 % floor
    (0.005, 0.2, 0.3, False),      # 20 % of about 5 calls: one error is not a burst
])
def test_error_burst_floors(base_rate: float, burst_rate: float, rpm: float, fires: bool) -> None:
    rate = flat(2 * DAY + WINDOW, base_rate, noise=0.2)
    rate.iloc[-WINDOW:] = burst_rate
    requests = pd.Series(rpm, index=rate.index)
    found = detect_series(*split(rate), "error_burst", counts=requests.iloc[-WINDOW:])
    assert (found is not None) == fires


def test_a_list_of_pairs_works_like_a_series() -> None:
    s = flat(2 * DAY + WINDOW, 10.0)
    s.iloc[-WINDOW:] *= 3
    history, window = split(s)
    as_pairs = [(t.to_pydatetime(), float(v)) for t, v in history.items()]
    window_pairs = [(t.to_pydatetime(), float(v)) for t, v in window.items()]
    assert detect_series(as_pairs, window_pairs, "cost_spike") == detect_series(
        history, window, "cost_spike")


RULES_YAML = """
rules:
  - name: slow
    metric: latency_p95_ms
    op: ">"
    value: 5000
    for_minutes: 10
    severity: critical
    slice: {app: support-bot}
  - name: quiet
    metric: requests
    op: "<"
    value: 1
    for_minutes: 5
"""


def test_threshold_rules_load(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    slow, quiet = load_threshold_rules(path)
    assert (slow.metric, slow.op, slow.for_minutes, slow.severity) == (
        "latency_p95_ms", ">", 10, "critical")
    assert slow.matches(SliceKey("p", app="support-bot", model="gpt-4o"))
    assert not slow.matches({"app": "other"}) and quiet.matches({"app": "other"})


@pytest.mark.parametrize("text,message", [
    ("rules: [{name: a, metric: m, op: '>=', value: 1}]", "op"),
    ("rules: [{name: a, metric: m, op: '>', value: 1, for_minutes: 0}]", "for_minutes"),
    ("rules: [{name: a, metric: m, op: '>', value: 1, slice: {region: eu}}]", "region"),
    ("rules: [{name: a, metric: m, op: '>', value: 1, colour: red}]", "colour"),
    ("rules: [{name: a, metric: m, op: '>', value: 1}, {name: a, metric: n, op: '<', value: 2}]",
     "unique"),
    ("rules: [unclosed", "cannot read"),
    ("42", "list or a mapping"),
])
def test_bad_threshold_rules_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_threshold_rules(path)
    assert str(path) in str(err.value)


def minutes_above(total: int, above: int, gap_at: int | None = None) -> pd.Series:
    """`total` minutes of p95 latency, the last `above` of them over 5000 ms."""
    values = np.full(total, 1000.0)
    values[total - above:] = 6000.0
    if gap_at is not None:
        values[gap_at] = np.nan
    return pd.Series(values, index=pd.date_range(START, periods=total, freq="min"))


@pytest.mark.parametrize("above,gap_at,fires", [
    (9, None, False),     # not yet for 10 minutes
    (10, None, True),
    (30, None, True),
    (30, 25, False),      # a minute without data does not count
])
def test_threshold_rules_fire_after_for_minutes(above: int, gap_at: int | None,
                                                fires: bool) -> None:
    rule = ThresholdRule(name="slow", metric="latency_p95_ms", op=">", value=5000,
                         for_minutes=10, severity="critical")
    found = check_rules([rule], {"latency_p95_ms": minutes_above(30, above, gap_at)})
    assert len(found) == int(fires)
    if fires:
        f = found[0]
        assert (f.signal, f.direction, f.value, f.threshold, f.severity) == (
            "threshold_rule", "up", 6000.0, 5000.0, "critical")
        assert f.at == START + timedelta(minutes=29)


def test_threshold_rules_respect_the_slice_filter_and_missing_metrics() -> None:
    rule = ThresholdRule(name="quiet", metric="requests", op="<", value=1, for_minutes=5,
                         slice={"app": "support-bot"})
    zero = pd.Series(0.0, index=pd.date_range(START, periods=10, freq="min"))
    assert check_rules([rule], {"requests": zero}, SliceKey("p", app="support-bot"))
    assert not check_rules([rule], {"requests": zero}, SliceKey("p", app="other"))
    assert not check_rules([rule], {"cost_usd": zero})
