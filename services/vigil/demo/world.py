"""``DemoWorld(seed)``: four apps, their environments, models, prompt templates with 2-3
versions, 200 users and a pool of open conversations. Every draw comes from one
``random.Random``: the same seed and the same sequence of calls give byte-identical
events. No clock, no I/O, no global random state.

``next_events(n, now)`` returns ``n`` valid ``vigil.v1.TraceEvent`` protos: event,
trace and span ids set, ``start_time <= end_time``, ``end_time`` within the minute
before ``now`` and increasing in list order. A conversation's later turns carry its
earlier messages in the prompt. ``feedback_for(events, now)`` returns feedback for about
5% of the events. With a ``DemoSchedule``, each event is made under the incidents on at its
end time (``vigil.demo.schedule``); without one, the world has no incidents. ``now``
should be timezone-aware (UTC); a naive ``now`` is read as UTC."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from vigil.demo.content import hex_id, pick
from vigil.demo.conversation import Session, User, advance, new_session, take_turn
from vigil.demo.feedback import feedback_on
from vigil.demo.schedule import DemoSchedule, Effects
from vigil_protos.v1 import events_pb2

_USER_COUNT = 200
_OPEN_SESSIONS = 24
_REGIONS = (("us-east-1", 0.5), ("eu-west-1", 0.35), ("ap-southeast-2", 0.15))
_FEEDBACK_RATE = 0.05
_MAX_SPREAD_S = 45.0
_SPREAD_PER_EVENT_S = 0.02


def _end_times(
    rng: random.Random, n: int, now: datetime, spread_s: float | None = None
) -> list[datetime]:
    spread = min(_MAX_SPREAD_S, n * _SPREAD_PER_EVENT_S if spread_s is None else spread_s)
    offsets = sorted((rng.uniform(0.0, spread) for _ in range(n)), reverse=True)
    return [now - timedelta(seconds=offset) for offset in offsets]


class DemoWorld:
    """Seeded apps, users and open conversations; produces trace and feedback protos."""

    def __init__(
        self, seed: int | random.Random = 7, schedule: DemoSchedule | None = None
    ) -> None:
        self._rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.schedule = schedule  # may be set later: the incidents of events made from then
        self._users = [
            User(f"user_{hex_id(self._rng, 8)}", pick(self._rng, _REGIONS))
            for _ in range(_USER_COUNT)
        ]
        self._open: list[Session] = []

    def next_events(
        self, n: int, now: datetime, spread_s: float | None = None
    ) -> list[events_pb2.TraceEvent]:
        """Return n events ending in the minute before ``now``, in time order: spread over
        the ``spread_s`` seconds before it (at most 45; default: 0.02 s per event)."""
        return [self._next_event(end) for end in _end_times(self._rng, n, now, spread_s)]

    def feedback_for(
        self, events: Sequence[events_pb2.TraceEvent], now: datetime
    ) -> list[events_pb2.FeedbackEvent]:
        """Return feedback for about 5% of ``events``, given no later than ``now``."""
        chosen = [e for e in events if self._rng.random() < _FEEDBACK_RATE]
        return [feedback_on(self._rng, event, now) for event in chosen]

    def _next_event(self, end: datetime) -> events_pb2.TraceEvent:
        while len(self._open) < _OPEN_SESSIONS:
            self._open.append(new_session(self._rng, self._users))
        session = self._rng.choice(self._open)
        effects = Effects()
        if self.schedule is not None:
            effects = self.schedule.effects(end, session.app.name, session.model.name)
        event = take_turn(self._rng, session, end, effects)
        if not advance(session, event):
            self._open.remove(session)
        return event

