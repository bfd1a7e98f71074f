"""The alert state machine (pure): findings per dedupe key in, alert events out.

A key starts firing on its first finding (unless it resolved less than the
cooldown ago), stays firing while findings keep coming (no repeat events),
and resolves after `resolve_after` consecutive windows without a finding,
with a resolve event that carries how long it lasted. Severity can escalate
while firing (a new firing event with the same dedupe key).

The book survives a restart of the analyzer through `restore(events)`: the state
that matters for paging (which keys fire, since when, at what severity, and when
each key last resolved, for the cooldown) is exactly what the published alert
events say, so the analyzer takes it back from its own alert log (see
`vigil.analyze.alert_log`) before its first cycle as leader. Only the count of
quiet windows is not in the log: a restart starts it again at 0 (a resolve may
come up to `resolve_after` windows later; it is never lost or sent twice). An
event's `alert_id` is derived from what it says (key, status, start, severity),
so the same state change always has the same id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.analyze.model import SliceKey
from vigil.core.alerts import SEVERITY_RANK, AlertEvent, Severity, Signal

ALERT_ID_NAMESPACE = uuid.UUID("6f1d7c1e-5a0b-4c1e-9d37-0b3a8f2e9c41")


@dataclass(frozen=True, slots=True)
class Observation:
    """One detector's verdict for one slice in one analysis window."""

    signal: Signal
    slice: SliceKey
    severity: Severity
    title: str
    summary: str
    value: float
    baseline: float
    threshold: float
    rule: str = ""  # the threshold rule's name, for rule observations

    @property
    def dedupe_key(self) -> str:
        signal = f"{self.signal}/{self.rule}" if self.rule else self.signal
        return f"{self.slice.project_id}:{signal}:{self.slice.label()}"


@dataclass(slots=True)
class _Active:
    started_at: datetime
    severity: Severity
    quiet_windows: int = 0
    last: Observation | None = None


@dataclass(slots=True)
class AlertBook:
    resolve_after: int = 2          # windows without a finding before resolving
    cooldown: timedelta = timedelta(minutes=30)
    active: dict[str, _Active] = field(default_factory=dict)
    resolved_at: dict[str, datetime] = field(default_factory=dict)

    def update(self, observations: list[Observation], now: datetime) -> list[AlertEvent]:
        """Advance one analysis window; return the firing and resolved events."""
        events: list[AlertEvent] = []
        seen = {o.dedupe_key: o for o in observations}
        for key, obs in seen.items():
            state = self.active.get(key)
            if state is None:
                quiet_since = self.resolved_at.get(key)
                if quiet_since is not None and now - quiet_since < self.cooldown:
                    continue
                self.active[key] = _Active(started_at=now, severity=obs.severity, last=obs)
                events.append(_event(obs, "firing", now, now))
                continue
            state.quiet_windows, state.last = 0, obs
            if SEVERITY_RANK[obs.severity] > SEVERITY_RANK[state.severity]:
                state.severity = obs.severity
                events.append(_event(obs, "firing", state.started_at, now))
        for key in [k for k in self.active if k not in seen]:
            state = self.active[key]
            state.quiet_windows += 1
            if state.quiet_windows >= self.resolve_after and state.last is not None:
                events.append(_event(state.last, "resolved", state.started_at, now,
                                     severity=state.severity))
                del self.active[key]
                self.resolved_at[key] = now
        return events

    def restore(self, events: Iterable[AlertEvent]) -> None:
        """Replace the state with what these published events say (in any order): a
        key whose last event is firing is active (its start and highest severity as
        published), a key whose last event resolved is quiet since then."""
        latest: dict[str, AlertEvent] = {}
        for event in sorted(events, key=_order):
            latest[event.dedupe_key] = event
        self.active, self.resolved_at = {}, {}
        for key, event in latest.items():
            if event.status == "firing":
                self.active[key] = _Active(started_at=_time(event.started_at),
                                           severity=event.severity,
                                           last=observation_of(event))
            else:
                self.resolved_at[key] = _time(event.resolved_at or event.event_time)


def observation_of(event: AlertEvent) -> Observation:
    """The observation a published event was built from (enough to resolve it): the
    threshold rule's name is the part of the dedupe key after "threshold_rule/"."""
    s = event.slice
    key = SliceKey(event.project_id, app=s.get("app", ""), model=s.get("model", ""),
                   prompt_version=s.get("prompt_version", ""),
                   environment=s.get("environment", ""))
    title = event.title
    obs = Observation(event.signal, key, event.severity, title, event.summary, event.value,
                      event.baseline, event.threshold)
    if obs.dedupe_key != event.dedupe_key and event.signal == "threshold_rule":
        middle = event.dedupe_key[len(key.project_id) + 1:-len(key.label()) - 1]
        obs = Observation(event.signal, key, event.severity, title, event.summary,
                          event.value, event.baseline, event.threshold,
                          rule=middle.partition("/")[2])
    return obs


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _order(event: AlertEvent) -> tuple[datetime, int]:
    """Publication order of one key's events: by cycle time; in one cycle a key has
    one event, and an escalation comes in a later cycle than its first firing."""
    return _time(event.event_time), SEVERITY_RANK[event.severity]


def alert_id(dedupe_key: str, status: str, started: datetime, severity: str) -> str:
    """The same state change of the same alert always gets the same id, so a copy of
    an event (published again, delivered again) is recognisable as one."""
    return str(uuid.uuid5(ALERT_ID_NAMESPACE,
                          f"{dedupe_key}|{status}|{started.isoformat()}|{severity}"))


def _event(obs: Observation, status: str, started: datetime, now: datetime,
           severity: Severity | None = None) -> AlertEvent:
    resolved = status == "resolved"
    lasted = f" after {int((now - started).total_seconds() // 60)} min" if resolved else ""
    status_: str = "resolved" if resolved else "firing"
    return AlertEvent(
        alert_id=alert_id(obs.dedupe_key, status_, started, severity or obs.severity),
        dedupe_key=obs.dedupe_key,
        status="resolved" if resolved else "firing", severity=severity or obs.severity,
        project_id=obs.slice.project_id, signal=obs.signal,
        title=(f"Resolved{lasted}: " if resolved else "") + obs.title,
        summary=obs.summary, slice={"app": obs.slice.app, "model": obs.slice.model,
                                    "prompt_version": obs.slice.prompt_version,
                                    "environment": obs.slice.environment},
        value=obs.value, baseline=obs.baseline, threshold=obs.threshold,
        started_at=started.isoformat(), event_time=now.isoformat(),
        resolved_at=now.isoformat() if resolved else "",
    )
