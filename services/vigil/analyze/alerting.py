"""The alert state machine (pure): findings per dedupe key in, alert events out.

A key starts firing on its first finding (unless it resolved less than the
cooldown ago), stays firing while findings keep coming (no repeat events),
and resolves after `resolve_after` consecutive windows without a finding,
with a resolve event that carries how long it lasted. Severity can escalate
while firing (a new firing event with the same dedupe key).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.analyze.model import SliceKey
from vigil.core.alerts import SEVERITY_RANK, AlertEvent, Severity, Signal


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


def _event(obs: Observation, status: str, started: datetime, now: datetime,
           severity: Severity | None = None) -> AlertEvent:
    resolved = status == "resolved"
    lasted = f" after {int((now - started).total_seconds() // 60)} min" if resolved else ""
    return AlertEvent(
        alert_id=str(uuid.uuid4()), dedupe_key=obs.dedupe_key,
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
