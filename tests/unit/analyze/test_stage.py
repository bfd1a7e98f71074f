"""One analysis cycle over in-memory history: a latency regression is observed and
turns into one firing alert; steady traffic observes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.analyze.alerting import AlertBook
from vigil.analyze.history import SeriesHistory
from vigil.analyze.stage import observe

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _history(latency_from_minute: int | None = None, days: int = 3,
             traces_per_minute: int | None = None) -> SeriesHistory:
    rng = np.random.default_rng(7)
    history = SeriesHistory()
    points = []
    minutes = days * 1440
    for i in range(minutes):
        minute = NOW - timedelta(minutes=minutes - i)
        late = latency_from_minute is not None and i >= minutes - latency_from_minute
        points.append({
            "project_id": "p", "app": "bot", "model": "gpt-4o",
            "minute": minute.strftime("%Y-%m-%d %H:%M:%S"),
            "traces": int(rng.poisson(60)) if traces_per_minute is None else traces_per_minute,
            "cost_usd": float(rng.normal(1.5 if late else 0.5, 0.02)),
            "latency_p95_ms": float(rng.normal(2400 if late else 800, 40)),
            "errors": int(rng.poisson(0.3)), "judgments": 3,
            "mean_score": float(rng.normal(0.85, 0.02)), "feedback": 2,
            "negative_feedback": 0,
        })
    history.merge(points)
    return history


def test_steady_traffic_observes_nothing() -> None:
    assert observe(_history(), NOW, window_minutes=15) == []


def test_a_latency_regression_fires_one_alert() -> None:
    found = observe(_history(latency_from_minute=15), NOW, window_minutes=15)
    assert sorted(o.signal for o in found) == ["cost_spike", "latency_regression"]
    found = [o for o in found if o.signal == "latency_regression"]
    [event] = AlertBook().update(found, NOW)
    assert event.status == "firing"
    assert event.dedupe_key == "p:latency_regression:app=bot,model=gpt-4o"
    assert event.title == "p95 latency of bot/gpt-4o is 3.0x normal"


def test_cost_and_latency_need_min_count_requests_in_the_window() -> None:
    """The same tripled cost and latency on a slice of 1 request a minute (15 in the
    window, under the presets' min_count of 30) is noise, not a page."""
    small = _history(latency_from_minute=15, traces_per_minute=1)
    assert observe(small, NOW, window_minutes=15) == []
    enough = _history(latency_from_minute=15, traces_per_minute=2)   # 30 in the window
    assert sorted(o.signal for o in observe(enough, NOW, window_minutes=15)) == \
        ["cost_spike", "latency_regression"]


def test_threshold_rules_fire_beside_the_detectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from vigil.analyze.detect.rules import load_threshold_rules

    example = load_threshold_rules(Path(__file__).parents[3] / "examples" / "rules.yaml")
    assert {r.name for r in example} == {"p95-over-8s", "support-bot-errors"}
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules:\n  - {name: slow, metric: latency_p95_ms, op: '>', "
                          "value: 700, for_minutes: 5, severity: critical}\n")
    found = observe(_history(), NOW, 15, load_threshold_rules(rules_file))
    [rule] = [o for o in found if o.signal == "threshold_rule"]
    assert rule.severity == "critical" and rule.dedupe_key == \
        "p:threshold_rule/slow:app=bot,model=gpt-4o"
