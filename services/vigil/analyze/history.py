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
           "negative_feedback_rate", "feedback", "judgments")


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
        "judgments": float(point.get("judgments") or 0),
    }


class SeriesHistory:
    """One DataFrame per slice (a row per minute, a column per metric), so that a
    cycle's merge and every series read stay cheap over two weeks of minutes."""

    def __init__(self, keep: timedelta = timedelta(days=15)) -> None:
        self._keep = keep
        self._frames: dict[SliceKey, pd.DataFrame] = {}

    def merge(self, points: list[dict[str, Any]]) -> None:
        """Add the points; a minute seen again replaces the earlier one."""
        by_slice: dict[SliceKey, list[dict[str, Any]]] = defaultdict(list)
        for p in points:
            by_slice[SliceKey(p["project_id"], app=p["app"], model=p["model"])].append(p)
        for key, rows in by_slice.items():
            index = pd.DatetimeIndex(pd.to_datetime([p["minute"] for p in rows], utc=True,
                                                    format="ISO8601"))
            new = pd.DataFrame([metrics_of(p) for p in rows], index=index,
                               columns=list(METRICS), dtype="float64")
            new = new[~new.index.duplicated(keep="last")]
            old = self._frames.get(key)
            if old is not None:
                new = pd.concat([old[~old.index.isin(new.index)], new])
            self._frames[key] = new.sort_index()

    def trim(self, now: datetime) -> None:
        cutoff = pd.Timestamp(now - self._keep)
        cutoff = cutoff.tz_localize("UTC") if cutoff.tzinfo is None else cutoff
        for key in list(self._frames):
            kept = self._frames[key][self._frames[key].index >= cutoff]
            if len(kept):
                self._frames[key] = kept
            else:
                del self._frames[key]

    def slices(self) -> list[SliceKey]:
        return list(self._frames)

    def series(self, key: SliceKey, metric: str, fill_zero: bool = False) -> pd.Series:
        """The metric per minute (UTC index); minutes without traffic are 0 for counts
        and rates of money when `fill_zero`, else absent."""
        frame = self._frames.get(key)
        if frame is None:
            return pd.Series(dtype="float64")
        s = frame[metric].dropna().rename(None)
        if fill_zero and len(s):
            full = pd.date_range(s.index.min(), s.index.max(), freq="min", tz="UTC")
            s = s.reindex(full, fill_value=0.0)
        return s
