"""Per-minute metrics per slice, kept in memory by the analyzer between cycles.

The store returns, per (project, app, model) and minute: traces, cost, p95
latency, errors, judgments and mean score, feedback and negative feedback.
From them come the series the detectors watch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from vigil.analyze.model import SliceKey

METRICS = ("requests", "cost_usd", "latency_p95_ms", "error_rate", "judge_score_mean",
           "negative_feedback_rate", "feedback")


def metrics_of(point: dict[str, Any]) -> dict[str, float | None]:
    traces = point.get("traces") or 0
    feedback = point.get("feedback") or 0
    return {
        "requests": float(traces),
        "cost_usd": float(point.get("cost_usd") or 0.0),
        "latency_p95_ms": point.get("latency_p95_ms") if traces else None,
        "error_rate": (point.get("errors") or 0) / traces if traces else None,
        "judge_score_mean": point.get("mean_score") if point.get("judgments") else None,
        "negative_feedback_rate": (point.get("negative_feedback") or 0) / feedback
        if feedback else None,
        "feedback": float(feedback),
    }


class SeriesHistory:
    def __init__(self, keep: timedelta = timedelta(days=15)) -> None:
        self._keep = keep
        self._points: dict[SliceKey, dict[datetime, dict[str, float | None]]] = \
            defaultdict(dict)

    def merge(self, points: list[dict[str, Any]]) -> None:
        for p in points:
            key = SliceKey(p["project_id"], app=p["app"], model=p["model"])
            minute = pd.Timestamp(p["minute"], tz="UTC").to_pydatetime()
            self._points[key][minute] = metrics_of(p)

    def trim(self, now: datetime) -> None:
        cutoff = now - self._keep
        for key in list(self._points):
            kept = {m: v for m, v in self._points[key].items() if m >= cutoff}
            if kept:
                self._points[key] = kept
            else:
                del self._points[key]

    def slices(self) -> list[SliceKey]:
        return list(self._points)

    def series(self, key: SliceKey, metric: str, fill_zero: bool = False) -> pd.Series:
        """The metric per minute (UTC index); minutes without traffic are 0 for counts
        and rates of money when `fill_zero`, else absent."""
        rows = self._points.get(key, {})
        data = {m: v[metric] for m, v in rows.items() if v.get(metric) is not None}
        s = pd.Series(data, dtype="float64").sort_index()
        if fill_zero and len(s):
            full = pd.date_range(s.index.min(), s.index.max(), freq="min", tz="UTC")
            s = s.reindex(full, fill_value=0.0)
        return s
