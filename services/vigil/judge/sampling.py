"""Which traces the judge scores (pure logic, with the small state it needs).

The base decision is deterministic: a hash of the trace id against the rate
of the trace's slice, so a replay samples the same traces. On top of it,
always-include rules (errors, PII found, latency outliers, negative feedback)
and a minimum per slice and window, so rare slices still get judgments. The
minimum depends on what this worker saw before, so only the hash part is
replay-stable; the rest only adds traces.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any, Literal

from vigil.judge.config import JudgeConfig

Reason = Literal["sampled", "error", "pii", "latency_outlier", "negative_feedback",
                 "min_per_slice", "not_sampled"]
_SCALE = float(1 << 64)


def sample_point(trace_id: str) -> float:
    """A stable number in [0, 1) for a trace id."""
    digest = hashlib.blake2b(trace_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


@dataclass(frozen=True, slots=True)
class Slice:
    project: str
    app: str
    model: str
    prompt_version: str
    environment: str

    @classmethod
    def of(cls, record: dict[str, Any]) -> Slice:
        return cls(record["project_id"], record["app"], record["model"],
                   record["prompt_template_version"], record["environment"])


@dataclass(frozen=True, slots=True)
class Decision:
    judge: bool
    reason: Reason


class Sampler:
    def __init__(self, config: JudgeConfig, latency_window: int = 500) -> None:
        self.config = config
        self._latencies: dict[tuple[str, str], deque[float]] = {}
        self._medians: dict[tuple[str, str], float] = {}
        self._seen: dict[tuple[str, str], int] = {}
        self._latency_window = latency_window
        self._judged_in_window: dict[tuple[Slice, int], int] = {}

    def decide(self, record: dict[str, Any]) -> Decision:
        s = Slice.of(record)
        always = self.config.always_include
        outlier = self._latency_outlier(record)
        if always.errors and record["status"] == "error":
            return self._judged(s, record, "error")
        if always.pii and record["pii_masked"]:
            return self._judged(s, record, "pii")
        if outlier:
            return self._judged(s, record, "latency_outlier")
        rate = self.config.rate_for(s.project, s.app, s.model, s.prompt_version)
        if sample_point(record["trace_id"]) < rate:
            return self._judged(s, record, "sampled")
        if self._window_count(s, record) < self.config.min_per_slice:
            return self._judged(s, record, "min_per_slice")
        return Decision(False, "not_sampled")

    def _judged(self, s: Slice, record: dict[str, Any], reason: Reason) -> Decision:
        key = (s, self._window(record))
        self._judged_in_window[key] = self._judged_in_window.get(key, 0) + 1
        if len(self._judged_in_window) > 50_000:  # old windows: keep memory bounded
            current = self._window(record)
            self._judged_in_window = {k: v for k, v in self._judged_in_window.items()
                                      if k[1] >= current - 1}
        return Decision(True, reason)

    def _window(self, record: dict[str, Any]) -> int:
        start = datetime.fromisoformat(record["start_time"])
        return int(start.timestamp() // (self.config.window_minutes * 60))

    def _window_count(self, s: Slice, record: dict[str, Any]) -> int:
        return self._judged_in_window.get((s, self._window(record)), 0)

    def _latency_outlier(self, record: dict[str, Any]) -> bool:
        factor = self.config.always_include.latency_outlier_factor
        key = (record["app"], record["model"])
        seen = self._latencies.setdefault(key, deque(maxlen=self._latency_window))
        latency = float(record["latency_ms"])
        typical = self._medians.get(key)
        outlier = factor is not None and typical is not None and latency > factor * typical
        seen.append(latency)
        self._seen[key] = count = self._seen.get(key, 0) + 1
        if count % 50 == 0:
            self._medians[key] = median(seen)  # refreshed every 50 calls, not every call
        return outlier
