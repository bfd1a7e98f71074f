"""The analyzer's cycle with a recording reader (no store): drift windows, pinned or
trailing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil.analyze.worker import Analyzer
from vigil.settings import Settings

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class RecordingReader:
    def __init__(self) -> None:
        self.samples: list[tuple[datetime, datetime]] = []

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return [{"project_id": "p", "app": "a", "model": "m",
                 "minute": (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
                 "traces": 10, "cost_usd": 0.1, "latency_p95_ms": 500.0, "errors": 0}]

    def sample(self, key: Any, since: datetime, until: datetime, limit: int) -> list[dict]:
        self.samples.append((since, until))
        return []

    def spend(self, *args: Any) -> tuple[float, float]:
        return 0.0, 0.0

    def ticket_states(self) -> dict[str, tuple[str, str]]:
        return {}


CURRENT = (NOW - timedelta(minutes=60), NOW)
DAYS = [(CURRENT[0] - timedelta(days=d), CURRENT[1] - timedelta(days=d)) for d in range(1, 8)]
TRAILING = (NOW - timedelta(minutes=60) - timedelta(hours=24), NOW - timedelta(minutes=60))
PINNED = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))


@pytest.mark.parametrize(("pinned", "days_with_traffic", "asked"), [
    # the same hour on each of the last 7 days; the trailing hours are not needed
    ("", DAYS, [CURRENT, *DAYS]),
    ("", DAYS[:1], [CURRENT, *DAYS]),
    # a new install: no earlier day has traffic, so the trailing 24 h are the reference
    ("", [], [CURRENT, *DAYS, TRAILING]),
    ("2026-11-01T00:00+00:00/2026-11-08T00:00+00:00", [PINNED], [CURRENT, PINNED]),
])
def test_drift_compares_the_current_hour_with_the_chosen_reference(
        pinned: str, days_with_traffic: list[tuple[datetime, datetime]],
        asked: list[tuple[datetime, datetime]]) -> None:
    reader = RecordingReader()
    settings = Settings(analyzer_drift_every_cycles=1, drift_reference_period=pinned,
                        drift_min_samples=10)

    def sample(key: Any, since: datetime, until: datetime, limit: int) -> list[dict]:
        reader.samples.append((since, until))
        return _rows(300, 10) if (since, until) in [CURRENT, *days_with_traffic] else []

    reader.sample = sample  # type: ignore[method-assign]
    Analyzer(settings, reader).cycle(NOW)  # type: ignore[arg-type]
    assert reader.samples == asked


def _rows(tokens: int, n: int = 300) -> list[dict[str, Any]]:
    return [{"input_tokens": tokens + i % 7, "prompt_chars": 4 * (tokens + i % 7),
             "prompt_text": "summarise the order history", "output_tokens": 100 + i % 5,
             "completion_chars": 400, "latency_ms": 700.0 + i % 11, "total_cost": 0.002,
             "finish_reason": "stop", "status": "ok"} for i in range(n)]


class DriftingReader(RecordingReader):
    """The current hour's prompts are 10x longer than the reference days' while
    `drifting`; the same otherwise."""

    drifting = True

    def sample(self, key: Any, since: datetime, until: datetime, limit: int) -> list[dict]:
        self.samples.append((since, until))
        current = until.minute == 0 and until - since == timedelta(minutes=60) \
            and until >= NOW
        return _rows(3000 if current and self.drifting else 300)

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return []

    def examples(self, *args: Any) -> list[Any]:
        return []


def test_a_drift_alert_holds_between_checks_and_resolves_after_a_clean_check() -> None:
    reader = DriftingReader()
    settings = Settings(analyzer_drift_every_cycles=3, drift_min_samples=100)
    analyzer = Analyzer(settings, reader, evidently_reports=False)  # type: ignore[arg-type]
    analyzer.history.merge([{"project_id": "p", "app": "a", "model": "m",
                             "minute": (NOW - timedelta(minutes=1)).strftime(
                                 "%Y-%m-%d %H:%M:%S"), "traces": 10}])
    seen = []
    for minute in range(9):  # checks at cycles 1, 4, 7 (minutes 0, 3, 6)
        if minute == 3:
            reader.drifting = False
        events, _ = analyzer.cycle(NOW + timedelta(hours=minute))
        seen.append([(e.signal, e.status) for e in events])
    assert seen[0] == [("input_drift", "firing")]
    assert seen[1] == seen[2] == [], "held between checks: no resolve, no second page"
    # the clean check at cycle 4 starts the quiet count; resolved two cycles later
    assert seen[3] == [] and seen[4] == [("input_drift", "resolved")]
    assert seen[5:] == [[], [], [], []]


def test_a_drift_report_evidently_cannot_build_is_skipped_not_fatal() -> None:
    from vigil.analyze.model import SliceKey
    from vigil.analyze.worker import _evidently_or_none
    from vigil.runtime.metrics import ANALYZER_FAILURES

    before = ANALYZER_FAILURES.labels("drift_report")._value.get()
    key = SliceKey("p", "app", "model", "v1", "prod")
    assert _evidently_or_none(key, [{"input_tokens": 1}], [{"input_tokens": 2}]) is None
    assert ANALYZER_FAILURES.labels("drift_report")._value.get() == before + 1


class FailingOnceReader(RecordingReader):
    """Its first series read raises what no one planned for; later ones answer."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def series(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        if not self.failed:
            self.failed = True
            raise ValueError("After pruning, no terms remain")
        return super().series(since, until)


def test_a_failed_cycle_is_counted_and_skipped_and_the_next_one_runs() -> None:
    from vigil.analyze.worker import safe_cycle
    from vigil.runtime.metrics import ANALYZER_FAILURES

    before = ANALYZER_FAILURES.labels("cycle")._value.get()
    analyzer = Analyzer(Settings(), FailingOnceReader())  # type: ignore[arg-type]
    assert safe_cycle(analyzer, NOW) is None
    assert ANALYZER_FAILURES.labels("cycle")._value.get() == before + 1
    assert safe_cycle(analyzer, NOW + timedelta(minutes=1)) == ([], [])
