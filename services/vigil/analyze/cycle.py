"""One analysis cycle (pure given its inputs): series per slice -> observations ->
alert events, and persistent quality problems -> ticket candidates."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from vigil.analyze.alerting import Observation
from vigil.analyze.detect.anomaly import SIGNALS, detect_series
from vigil.analyze.history import SeriesHistory
from vigil.analyze.model import Severity, SliceKey

CRITICAL = {"error_burst", "traffic_drop"}
COUNTS = {"error_rate": "requests", "negative_feedback_rate": "feedback"}
TITLES = {
    "cost_spike": "Cost of {s} is {r:.1f}x normal",
    "latency_regression": "p95 latency of {s} is {r:.1f}x normal",
    "error_burst": "Error rate of {s} jumped to {v:.1%}",
    "quality_drop": "Judge score of {s} dropped to {v:.2f}",
    "negative_feedback": "Negative feedback on {s} rose to {v:.1%}",
    "traffic_drop": "Traffic of {s} fell to {r:.0%} of normal",
    "traffic_spike": "Traffic of {s} is {r:.1f}x normal",
}


def observe(history: SeriesHistory, now: datetime, window_minutes: int) -> list[Observation]:
    """Run every signal's detector on every slice for the window ending at `now`."""
    end = pd.Timestamp(now).floor("min")
    start = end - pd.Timedelta(minutes=window_minutes)
    found = []
    for key in history.slices():
        for signal, spec in SIGNALS.items():
            series = history.series(key, spec.metric, fill_zero=spec.missing_is_zero)
            if series.empty:
                continue
            window_index = pd.date_range(start, end - pd.Timedelta(minutes=1), freq="min")
            window = series.reindex(window_index)
            past = series[series.index < start]
            counts = None
            if spec.metric in COUNTS:
                counts = history.series(key, COUNTS[spec.metric]).reindex(window_index)
            finding = detect_series(past, window, signal, counts=counts)
            if finding is not None:
                found.append(_observation(key, signal, finding, start.to_pydatetime()))
    return found


def _observation(key: SliceKey, signal: str, finding: object, since: datetime
                 ) -> Observation:
    value, baseline = finding.value, finding.baseline  # type: ignore[attr-defined]
    ratio = value / baseline if baseline else float("inf")
    where = "/".join(p for p in (key.app, key.model) if p) or "all traffic"
    severity: Severity = "critical" if signal in CRITICAL else "warning"
    title = TITLES.get(signal, "{s}: " + signal).format(s=where, r=ratio, v=value)
    summary = (f"{title} in project {key.project_id} since {since:%Y-%m-%d %H:%M} UTC: "
               f"{value:.4g} vs a baseline of {baseline:.4g}. "
               f"{finding.detail}")  # type: ignore[attr-defined]
    return Observation(signal, key, severity, title, summary, float(value), float(baseline),  # type: ignore[arg-type]
                       float(finding.threshold))  # type: ignore[attr-defined]


def window_bounds(now: datetime, window_minutes: int) -> tuple[datetime, datetime]:
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(minutes=window_minutes), end
