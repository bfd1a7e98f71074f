"""The demo's incidents: a pure function of a clock. ``DemoSchedule(start)`` says, for any
moment, which incidents are on and what they do to a call of a given app and model.

The default schedule repeats every hour after ``start`` (under ``vigil up``: the moment
the back-filled history was sent; everything before it is clean):

- ``input_drift`` on ``doc-summarizer`` (all its models), minutes 0-30: users paste long
  legal contracts instead of business reports (longer inputs, a new vocabulary);
- ``quality`` on ``support-bot`` / ``acme-support-ft-v3``, minutes 2-11: a bad fine-tune
  refuses, answers in Spanish or evades most questions (the judge scores drop);
- ``cost`` on ``code-assistant`` / ``gpt-4o``, minutes 3-8: the app pastes the whole
  repository as context (input tokens, hence cost, several times normal).

No I/O and no clock of its own: ``at(when)`` is all a test needs to drive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

IncidentKind = Literal["quality", "input_drift", "cost"]


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident of the schedule: what, on which slice, from when to when in a period."""

    kind: IncidentKind
    app: str
    model: str | None  # None: every model of the app
    start: timedelta  # after the start of each period
    end: timedelta

    def covers(self, app: str, model: str) -> bool:
        return self.app == app and (self.model is None or self.model == model)

    @property
    def slice_name(self) -> str:
        return f"{self.app}/{self.model or '*'}"


@dataclass(frozen=True, slots=True)
class Effects:
    """What the incidents on at one moment do to one call."""

    quality: bool = False  # degraded answers
    input_drift: bool = False  # different inputs
    cost: bool = False  # much more input context

    @property
    def any(self) -> bool:
        return self.quality or self.input_drift or self.cost


DEFAULT_INCIDENTS: tuple[Incident, ...] = (
    Incident("input_drift", "doc-summarizer", None, timedelta(minutes=0), timedelta(minutes=30)),
    Incident("quality", "support-bot", "acme-support-ft-v3",
             timedelta(minutes=2), timedelta(minutes=11)),
    Incident("cost", "code-assistant", "gpt-4o", timedelta(minutes=3), timedelta(minutes=8)),
)
DEFAULT_PERIOD = timedelta(hours=1)


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DemoSchedule:
    """Incidents repeating every ``period`` after ``start``; none before ``start``."""

    start: datetime
    incidents: tuple[Incident, ...] = DEFAULT_INCIDENTS
    period: timedelta = DEFAULT_PERIOD

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError("period must be positive")
        for incident in self.incidents:
            if not timedelta(0) <= incident.start < incident.end <= self.period:
                raise ValueError(f"incident {incident} must lie within one period")

    def at(self, when: datetime) -> tuple[Incident, ...]:
        """The incidents on at ``when`` (a naive ``when`` is UTC)."""
        elapsed = _utc(when) - _utc(self.start)
        if elapsed < timedelta(0):
            return ()
        offset = elapsed % self.period
        return tuple(i for i in self.incidents if i.start <= offset < i.end)

    def effects(self, when: datetime, app: str, model: str) -> Effects:
        """What the incidents on at ``when`` do to a call of ``app`` on ``model``."""
        kinds = {i.kind for i in self.at(when) if i.covers(app, model)}
        return Effects("quality" in kinds, "input_drift" in kinds, "cost" in kinds)
