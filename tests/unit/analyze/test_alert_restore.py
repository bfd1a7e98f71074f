"""The alert book taken back from its published events (what a restarted analyzer does):
no firing alert pages again, none is forgotten, its resolve still comes. A fake clock
(window times given to update) drives every case."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from vigil.analyze.alert_log import decode_lines
from vigil.analyze.alerting import AlertBook, Observation, observation_of
from vigil.analyze.model import SliceKey
from vigil.core.alerts import AlertEvent

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
W = timedelta(minutes=1)


def _obs(severity: str = "warning", app: str = "bot", rule: str = "") -> Observation:
    signal = "threshold_rule" if rule else "latency_regression"
    return Observation(signal, SliceKey("p", app=app, model="gpt-4o"), severity,  # type: ignore[arg-type]
                       "p95 latency 3x normal", "p95 2.1 s vs 0.7 s", 2100.0, 700.0, 1400.0,
                       rule=rule)


def _restarted(published: list[AlertEvent], **kwargs: object) -> AlertBook:
    book = AlertBook(**kwargs)  # type: ignore[arg-type]
    book.restore(published)
    return book


def test_a_firing_alert_stays_firing_after_a_restart_and_resolves_once() -> None:
    before = AlertBook(resolve_after=2)
    [fired] = before.update([_obs()], T0)
    after = _restarted([fired], resolve_after=2)
    assert after.update([_obs()], T0 + W) == []            # still firing: no second page
    assert after.update([], T0 + 2 * W) == []
    [resolved] = after.update([], T0 + 3 * W)
    assert resolved.status == "resolved"
    assert (resolved.dedupe_key, resolved.started_at, resolved.severity) == \
        (fired.dedupe_key, fired.started_at, "warning")
    assert resolved.title == "Resolved after 3 min: p95 latency 3x normal"
    assert resolved.value == fired.value and resolved.summary == fired.summary


def test_a_restart_after_the_resolve_keeps_the_cooldown() -> None:
    before = AlertBook(resolve_after=1, cooldown=timedelta(minutes=30))
    published = before.update([_obs()], T0) + before.update([], T0 + W)
    assert [e.status for e in published] == ["firing", "resolved"]
    after = _restarted(published, resolve_after=1, cooldown=timedelta(minutes=30))
    assert after.active == {}
    assert after.update([_obs()], T0 + 2 * W) == []                      # in cooldown
    assert [e.status for e in after.update([_obs()], T0 + W + timedelta(minutes=30))] == \
        ["firing"]


def test_an_escalated_alert_restores_at_its_highest_severity() -> None:
    before = AlertBook(resolve_after=1)
    published = before.update([_obs()], T0) + before.update([_obs("critical")], T0 + W)
    random.Random(3).shuffle(published)           # partitions do not keep the order
    after = _restarted(published, resolve_after=1)
    assert after.update([_obs("critical")], T0 + 2 * W) == []        # no second escalation
    [resolved] = after.update([], T0 + 3 * W)
    assert (resolved.severity, resolved.started_at) == ("critical", T0.isoformat())


def test_a_threshold_rule_alert_keeps_its_dedupe_key() -> None:
    obs = _obs(rule="p95-over-8s")
    [fired] = AlertBook().update([obs], T0)
    assert observation_of(fired).dedupe_key == fired.dedupe_key == obs.dedupe_key
    assert observation_of(fired).rule == "p95-over-8s"
    after = _restarted([fired], resolve_after=1)
    assert after.update([obs], T0 + W) == []
    [resolved] = after.update([], T0 + 2 * W)
    assert resolved.dedupe_key == "p:threshold_rule/p95-over-8s:app=bot,model=gpt-4o"


def _script() -> list[list[Observation]]:
    """Two slices over 16 windows: fire, escalate, quiet, resolve, cooldown, fire again,
    and quiet windows at the end so that everything resolves."""
    a, b, crit = _obs(app="a"), _obs(app="b"), _obs("critical", app="a")
    return [[a], [a], [a, b], [crit, b], [crit], [], [], [b], [], [], [a], [a], [], [], [],
            []]


@pytest.mark.parametrize("crash_after", range(16))
def test_a_crash_after_any_window_pages_nothing_twice_and_loses_no_resolve(
        crash_after: int) -> None:
    """The same windows through one book, and through a book that crashes after window
    `crash_after` and is restored from everything published so far. When every firing
    alert had its finding in that window: the same events (same ids) at the same times.
    After a quiet window the restored book counts its quiet windows again, so a resolve
    may come later (and so a cooldown ends later): still no more pages per key than
    the steady book sends, no event twice, and every firing alert resolves exactly
    once."""
    script = _script()
    kwargs = {"resolve_after": 2, "cooldown": timedelta(minutes=4)}
    steady = AlertBook(**kwargs)  # type: ignore[arg-type]
    expected = [steady.update(obs, T0 + i * W) for i, obs in enumerate(script)]

    book = AlertBook(**kwargs)  # type: ignore[arg-type]
    published: list[AlertEvent] = []
    got, quiet = [], False
    for i, obs in enumerate(script):
        events = book.update(obs, T0 + i * W)
        published.extend(events)
        got.append(events)
        if i == crash_after:
            quiet = any(s.quiet_windows for s in book.active.values())
            book = _restarted(published, **kwargs)
    assert book.active == {}
    if not quiet:
        assert got == expected
        return
    flat = [e for window in got for e in window]
    firing = [e for e in flat if e.status == "firing"]
    steady_firing = [e for window in expected for e in window if e.status == "firing"]
    for key in {e.dedupe_key for e in steady_firing}:   # never more pages than steady
        assert sum(e.dedupe_key == key for e in firing) <= \
            sum(e.dedupe_key == key for e in steady_firing)
    assert len({e.alert_id for e in flat}) == len(flat)
    for key in {e.dedupe_key for e in firing}:
        statuses = [e.status for e in flat if e.dedupe_key == key]
        starts = [i for i, s in enumerate(statuses)
                  if s == "firing" and (i == 0 or statuses[i - 1] == "resolved")]
        assert statuses.count("resolved") == len(starts) and statuses[-1] == "resolved"


@pytest.mark.parametrize("crash_after,resolved_in", [(None, [5, 6]), (3, [5, 6]),
                                                     (4, [6, 6]), (5, [5, 7])])
def test_a_crash_in_a_quiet_window_resolves_later_not_never(crash_after: int | None,
                                                            resolved_in: list[int]) -> None:
    """Exact windows of the resolves: b (last seen in window 3) and a (window 4) resolve
    in 5 and 6 without a crash; a crash after b's first quiet window (4) restarts b's
    count (resolved in 6), one after a's (5) restarts a's (resolved in 7)."""
    book = AlertBook(resolve_after=2, cooldown=timedelta(minutes=4))
    published: list[AlertEvent] = []
    for i, obs in enumerate(_script()[:8]):
        published.extend(book.update(obs, T0 + i * W))
        if i == crash_after:
            book = _restarted(published, resolve_after=2, cooldown=timedelta(minutes=4))
    assert sorted(int((datetime.fromisoformat(e.event_time) - T0) / W)
                  for e in published if e.status == "resolved") == resolved_in


def test_the_alert_id_names_the_state_change() -> None:
    [one] = AlertBook().update([_obs()], T0)
    [same] = AlertBook().update([_obs()], T0)
    [later] = AlertBook().update([_obs()], T0 + W)
    assert one.alert_id == same.alert_id != later.alert_id


def test_alert_lines_decode_and_the_rest_is_counted() -> None:
    [fired] = AlertBook().update([_obs()], T0)
    value = b"\n".join([orjson.dumps(fired.to_json()), b'{"alert_id": "half"}', b"", b"nope"])
    events, bad = decode_lines(value)
    assert events == [fired] and bad == 2
