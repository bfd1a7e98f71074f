"""A labelled scenario for backtests: seasonal daily traffic over slices of different
volume, with incidents of several signals, as the read API's per-minute points plus a
drift sampler of trace rows (`vigil.analyze.memory.MemoryReader` answers from them).

Everything comes from one seed. The first `clean_days` hold no incident (they are the
history the analyzer and the fixed thresholds learn from); incidents start in the
`scored_days` after them, at most one at a time per slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from vigil.analyze.memory import MemoryReader, minute_text
from vigil.analyze.model import SliceKey

START = datetime(2025, 3, 3, tzinfo=UTC)   # a Monday
DAY = 1440
PROJECT = "bench"
SLICES = (("support-bot", "gpt-4o", 300.0), ("search", "gpt-4o-mini", 80.0),
          ("summarizer", "claude-sonnet", 25.0), ("sales-writer", "gpt-4o", 8.0),
          ("legal-review", "o3", 4.0))        # (app, model, peak requests a minute)
SIGNALS = ("cost_spike", "latency_regression", "error_burst", "quality_drop",
           "traffic_drop", "input_drift")
WORDS = np.array(["order", "refund", "shipping", "delivery", "account", "password",
                  "invoice", "cancel", "help", "thanks", "status", "late", "card", "answer"])


@dataclass(frozen=True)
class Incident:
    slice_index: int
    signal: str
    start: int       # minute offset from START
    minutes: int

    def covers(self, minute: np.ndarray) -> np.ndarray:
        return (minute >= self.start) & (minute < self.start + self.minutes)


@dataclass
class Scenario:
    seed: int
    clean_days: int
    scored_days: int
    incidents: list[Incident]
    frames: list[dict[str, np.ndarray]] = field(default_factory=list)  # per slice

    @property
    def keys(self) -> list[SliceKey]:
        return [SliceKey(PROJECT, app=a, model=m) for a, m, _ in SLICES]

    @property
    def scored_start(self) -> datetime:
        return START + timedelta(days=self.clean_days)

    @property
    def end(self) -> datetime:
        return START + timedelta(days=self.clean_days + self.scored_days)

    def points(self) -> list[dict[str, Any]]:
        out = []
        for key, f in zip(self.keys, self.frames, strict=True):
            for i in np.flatnonzero(f["requests"] > 0):
                out.append({
                    "project_id": PROJECT, "app": key.app, "model": key.model,
                    "minute": minute_text(START + timedelta(minutes=int(i))),
                    "traces": int(f["requests"][i]), "cost_usd": float(f["cost_usd"][i]),
                    "latency_p95_ms": float(f["latency_p95_ms"][i]),
                    "errors": int(f["errors"][i]), "judgments": int(f["judgments"][i]),
                    "mean_score": float(f["mean_score"][i]) if f["judgments"][i] else None,
                    "feedback": int(f["feedback"][i]),
                    "negative_feedback": int(f["negative_feedback"][i])})
        return out

    def reader(self) -> MemoryReader:
        return MemoryReader(self.points(), self.sample)

    def sample(self, key: SliceKey, since: datetime, until: datetime, limit: int
               ) -> list[dict[str, Any]]:
        """Trace rows of the slice in [since, until), as many as it had (at most
        `limit`), drawn deterministically for this slice and window."""
        s = self.keys.index(key)
        f = self.frames[s]
        lo = max(int((since - START).total_seconds() // 60), 0)
        hi = min(int((until - START).total_seconds() // 60), len(f["requests"]))
        if hi <= lo:
            return []
        weights = f["requests"][lo:hi]
        n = int(min(limit, weights.sum()))
        if n == 0:
            return []
        rng = np.random.default_rng([self.seed, s, lo, hi])
        minute = lo + rng.choice(hi - lo, size=n, p=weights / weights.sum())
        tokens = rng.poisson(300 * f["input_scale"][minute])
        latency = rng.lognormal(np.log(700 * f["latency_scale"][minute]), 0.3)
        cost = 0.002 * f["cost_scale"][minute] * rng.lognormal(0, 0.3, n)
        words = WORDS[rng.integers(0, len(WORDS), size=(n, 6))]
        errors = rng.random(n) < f["error_p"][minute]
        out_tokens = rng.poisson(120, n)
        return [{"input_tokens": int(tokens[i]), "prompt_chars": int(tokens[i] * 4),
                 "prompt_text": " ".join(words[i]), "output_tokens": int(out_tokens[i]),
                 "completion_chars": int(out_tokens[i] * 4), "latency_ms": float(latency[i]),
                 "total_cost": float(cost[i]), "finish_reason": "stop",
                 "status": "error" if errors[i] else "ok"} for i in range(n)]


def load_shape(minute: np.ndarray) -> np.ndarray:
    """Relative volume: 0.1 at 3:00, 1.0 at 15:00 on weekdays; weekends at 60 %."""
    daily = 0.55 + 0.45 * np.sin(2 * np.pi * ((minute % DAY) / 60 - 9) / 24)
    return daily * np.where((minute // DAY) % 7 >= 5, 0.6, 1.0)


def make_scenario(seed: int, clean_days: int = 3, scored_days: int = 2,
                  incidents: int = 8) -> Scenario:
    rng = np.random.default_rng(seed)
    placed = _incidents(rng, clean_days, scored_days, incidents)
    scenario = Scenario(seed, clean_days, scored_days, placed)
    n = (clean_days + scored_days) * DAY
    minute = np.arange(n)
    for s, (_, _, peak) in enumerate(SLICES):
        mine = [i for i in placed if i.slice_index == s]
        scenario.frames.append(_slice(rng, minute, peak, mine))
    return scenario


def _incidents(rng: np.random.Generator, clean_days: int, scored_days: int, count: int
               ) -> list[Incident]:
    """Signals in turn, random slices and starts, 60-120 minutes each, no two on one
    slice within 3 hours of each other."""
    placed: list[Incident] = []
    first, last = clean_days * DAY, (clean_days + scored_days) * DAY - 180
    while len(placed) < count:
        signal = SIGNALS[len(placed) % len(SIGNALS)]
        candidate = Incident(int(rng.integers(len(SLICES))), signal,
                             int(rng.integers(first, last)), int(rng.integers(60, 121)))
        if all(p.slice_index != candidate.slice_index or abs(p.start - candidate.start) > 180
               for p in placed):
            placed.append(candidate)
    return sorted(placed, key=lambda i: i.start)


def _slice(rng: np.random.Generator, minute: np.ndarray, peak: float,
           incidents: list[Incident]) -> dict[str, np.ndarray]:
    n = len(minute)
    load = load_shape(minute) * rng.normal(1.0, 0.03, size=n // DAY + 1)[minute // DAY]
    scale = {k: np.ones(n) for k in ("traffic", "cost", "latency", "input")}
    error_p, score = np.full(n, 0.005), np.full(n, 0.85)
    for inc in incidents:
        at = inc.covers(minute)
        if inc.signal == "cost_spike":
            scale["cost"][at] = 3.0
        elif inc.signal == "latency_regression":
            scale["latency"][at] = 2.5
        elif inc.signal == "error_burst":
            error_p[at] = 0.08
        elif inc.signal == "quality_drop":
            score[at] = 0.55
        elif inc.signal == "traffic_drop":
            scale["traffic"][at] = 0.2
        elif inc.signal == "input_drift":
            scale["input"][at] = 2.0
    requests = rng.poisson(peak * load * scale["traffic"]).astype(float)
    safe = np.maximum(requests, 1)
    judgments = rng.binomial(requests.astype(np.int64), 0.05)
    feedback = rng.binomial(requests.astype(np.int64), 0.1)
    latency_scale = (1 + 0.3 * load) * scale["latency"]
    return {
        "requests": requests,
        "cost_usd": requests * 0.002 * scale["cost"] * np.exp(rng.normal(0, 0.3, n)
                                                              / np.sqrt(safe)),
        # the p95 of a few calls is noisier than that of many
        "latency_p95_ms": 900 * latency_scale * np.exp(
            rng.normal(0, 1, n) * (0.08 + 0.3 / np.sqrt(safe))),
        "errors": rng.binomial(requests.astype(np.int64), error_p).astype(float),
        "judgments": judgments.astype(float),
        "mean_score": np.clip(score + rng.normal(0, 0.12, n) / np.sqrt(np.maximum(judgments, 1)),
                              0, 1),
        "feedback": feedback.astype(float),
        "negative_feedback": rng.binomial(feedback, 0.1).astype(float),
        "cost_scale": scale["cost"], "latency_scale": latency_scale,
        "input_scale": scale["input"], "error_p": error_p,
    }
