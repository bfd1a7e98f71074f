"""`length_outlier`: per (app, model), the completion length (log of characters) is more
than `k` MADs from the median of the last `window` lengths, once `min_samples` were seen
(defaults 500, 50, k=5; a MAD floor of 0.1 for apps whose answers all have one length;
median and MAD refreshed every 16 samples). A trace is judged against the window before
its own length joins it. Stateful and not thread-safe: one instance per worker. Memory is
bounded (window per key, at most `max_keys` keys, least recently used dropped)."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence

from vigil.judge.evaluators.base import VERSION, judged
from vigil.judge.model import JudgeInput, Judgment


class _Window:
    __slots__ = ("mad", "median", "stale", "values")

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self.median = self.mad = 0.0
        self.stale = -1  # samples added since the statistics were computed; -1: never


class LengthOutlier:
    """Robust per-(app, model) baseline of log completion lengths; see the module docstring."""

    name: str = "length_outlier"
    version: str = VERSION

    def __init__(self, window: int = 500, min_samples: int = 50, k: float = 5.0,
                 min_mad: float = 0.1, refresh_every: int = 16, max_keys: int = 2048) -> None:
        if not 0 < min_samples <= window:
            raise ValueError("need 0 < min_samples <= window")
        self.window, self.min_samples, self.k = window, min_samples, k
        self.min_mad, self.refresh_every, self.max_keys = min_mad, refresh_every, max_keys
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok" or not item.completion.strip():
            return None  # empty answers are empty_answer's business
        size = len(item.completion)
        x = math.log1p(size)
        window = self._window((item.app, item.model))
        judgment = None
        if len(window.values) >= self.min_samples:
            if window.stale < 0 or window.stale >= self.refresh_every:
                window.median, window.mad = _median_mad(window.values)
                window.stale = 0
            deviation = (x - window.median) / max(window.mad, self.min_mad)
            typical = round(math.expm1(window.median))
            if abs(deviation) <= self.k:
                judgment = judged(self, True, "ok", f"{size} chars, typical {typical}")
            else:
                label = "too_long" if deviation > 0 else "too_short"
                judgment = judged(
                    self, False, label,
                    f"{size} chars is {abs(deviation):.1f} MADs from the typical {typical} chars "
                    f"(log scale) for {item.app}/{item.model}")
        window.values.append(x)
        if window.stale >= 0:
            window.stale += 1
        return judgment

    def _window(self, key: tuple[str, str]) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(self.window)
            if len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        return window


def _median_mad(values: Iterable[float]) -> tuple[float, float]:
    ordered = sorted(values)
    median = _median_sorted(ordered)
    return median, _median_sorted(sorted(abs(v - median) for v in ordered))


def _median_sorted(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
