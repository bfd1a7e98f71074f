"""The analyzer's cycle with a recording reader (no store): drift windows, pinned or
trailing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil.analyze.service import Analyzer
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


@pytest.mark.parametrize(("pinned", "reference"), [
    ("", (NOW - timedelta(minutes=60) - timedelta(hours=24), NOW - timedelta(minutes=60))),
    ("2026-11-01T00:00+00:00/2026-11-08T00:00+00:00",
     (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))),
])
def test_drift_compares_the_current_hour_with_the_chosen_reference(
        pinned: str, reference: tuple[datetime, datetime]) -> None:
    reader = RecordingReader()
    settings = Settings(analyzer_drift_every_cycles=1, drift_reference_period=pinned,
                        drift_min_samples=10)

    def sample(key: Any, since: datetime, until: datetime, limit: int) -> list[dict]:
        reader.samples.append((since, until))
        return [{}] * 10 if until == NOW else []  # enough current rows to ask for the ref

    reader.sample = sample  # type: ignore[method-assign]
    Analyzer(settings, reader).cycle(NOW)  # type: ignore[arg-type]
    assert reader.samples == [(NOW - timedelta(minutes=60), NOW), reference]


def test_a_drift_report_evidently_cannot_build_is_skipped_not_fatal() -> None:
    from vigil.analyze.model import SliceKey
    from vigil.analyze.service import _evidently_or_none
    from vigil.metrics import ANALYZER_FAILURES

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
    from vigil.analyze.service import safe_cycle
    from vigil.metrics import ANALYZER_FAILURES

    before = ANALYZER_FAILURES.labels("cycle")._value.get()
    analyzer = Analyzer(Settings(), FailingOnceReader())  # type: ignore[arg-type]
    assert safe_cycle(analyzer, NOW) is None
    assert ANALYZER_FAILURES.labels("cycle")._value.get() == before + 1
    assert safe_cycle(analyzer, NOW + timedelta(minutes=1)) == ([], [])
