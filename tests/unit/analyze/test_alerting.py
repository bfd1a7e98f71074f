"""The alert state machine: fire once, escalate, resolve, cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.analyze.alerting import AlertBook, Observation
from vigil.analyze.model import SliceKey

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
W = timedelta(minutes=5)


def _obs(severity: str = "warning", app: str = "bot") -> Observation:
    return Observation("latency_regression", SliceKey("p", app=app), severity,  # type: ignore[arg-type]
                       "p95 latency 3x normal", "p95 2.1 s vs 0.7 s", 2100.0, 700.0, 1400.0)


def test_fires_once_escalates_and_resolves_with_the_same_dedupe_key() -> None:
    book = AlertBook(resolve_after=2)
    first = book.update([_obs()], T0)
    assert [(e.status, e.severity) for e in first] == [("firing", "warning")]
    assert book.update([_obs()], T0 + W) == []  # still firing: no repeat
    escalated = book.update([_obs("critical")], T0 + 2 * W)
    assert [(e.status, e.severity) for e in escalated] == [("firing", "critical")]
    assert book.update([], T0 + 3 * W) == []  # one quiet window is not enough
    [resolved] = book.update([], T0 + 4 * W)
    assert resolved.status == "resolved" and resolved.resolved_at
    assert resolved.dedupe_key == first[0].dedupe_key == "p:latency_regression:app=bot"
    assert resolved.started_at == first[0].started_at


def test_cooldown_keeps_a_flapping_signal_from_paging_again() -> None:
    book = AlertBook(resolve_after=1, cooldown=timedelta(minutes=30))
    book.update([_obs()], T0)
    book.update([], T0 + W)  # resolved
    assert book.update([_obs()], T0 + 2 * W) == []  # within cooldown
    again = book.update([_obs()], T0 + 2 * W + timedelta(minutes=30))
    assert [e.status for e in again] == ["firing"]


def test_slices_are_independent() -> None:
    book = AlertBook()
    events = book.update([_obs(app="a"), _obs(app="b")], T0)
    assert sorted(e.dedupe_key for e in events) == ["p:latency_regression:app=a",
                                                    "p:latency_regression:app=b"]
