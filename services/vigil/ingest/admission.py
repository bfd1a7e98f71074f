"""How many events ingest holds before Kafka confirmed them (pure logic, no I/O).

Each call takes its events from the admission before they are buffered and gives
them back once Kafka answered for them (confirmed or failed). Past the bound a
call is refused as a whole, so memory stays bounded when Kafka cannot keep up:
the client gets RESOURCE_EXHAUSTED and retries with backoff. A call always
passes while nothing is pending, so one batch larger than the bound is never
starved. `max_pending <= 0` turns the bound off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Overloaded:
    """A call refused because too many events wait for Kafka."""

    pending: int
    limit: int
    retry_after_s: float = 0.2

    def __str__(self) -> str:
        return (f"ingest is overloaded: {self.pending} events pending (limit {self.limit}); "
                "retry with backoff")


class Admission:
    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self.pending = 0

    def take(self, events: int) -> Overloaded | None:
        """Hold `events` more; None when admitted, else an Overloaded (nothing taken)."""
        if self.max_pending > 0 and self.pending > 0 and \
                self.pending + events > self.max_pending:
            return Overloaded(self.pending, self.max_pending)
        self.pending += events
        return None

    def release(self, events: int) -> None:
        """Kafka answered for `events` (confirmed or failed): they are no longer held."""
        self.pending = max(0, self.pending - events)
