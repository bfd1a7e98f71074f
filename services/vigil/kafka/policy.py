"""The one error policy of every consumer, as a pure function of (exception, attempt).

- A `PermanentError` (vigil.core.errors; PayloadError and SignatureError are ones) or a
  type the stage declares permanent: dead-lettered at once, the reason its message.
- A transient error (`TransientError`: the store or its owner down; the broker or the
  network away: connection errors, timeouts, kafka-python's retriable errors): retried
  with exponential backoff without limit, the offset held (backpressure). Never
  dead-lettered, never dropped.
- Anything else is of unknown kind: retried with the same backoff until
  `max_attempts` tries in all, then dead-lettered with its type and message.

`retry` runs a callable under the policy; the waiting is injected, so tests drive it on
a fake clock and the runner waits by polling with its partitions paused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from kafka.errors import KafkaError

from vigil.core.errors import PermanentError, TransientError

T = TypeVar("T")
ErrorTypes = tuple[type[BaseException], ...]
TRANSIENT: ErrorTypes = (TransientError, ConnectionError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after this many seconds."""

    after_s: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Give up on the record: send it to `<topic>.dlq` with these headers."""

    reason: str
    error_type: str
    attempts: int


Decision = Retry | DeadLetter


def describe(exc: BaseException) -> str:
    """`TypeName: message`, bounded, for a dead-letter reason header."""
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:1000]


def is_transient(exc: BaseException, transient: ErrorTypes = TRANSIENT) -> bool:
    if isinstance(exc, transient):
        return True
    # kafka-python marks the errors a retry can cure (NoBrokersAvailable, timeouts, ...)
    return bool(transient) and isinstance(exc, KafkaError) and bool(exc.retriable)


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    permanent: ErrorTypes = ()
    transient: ErrorTypes = field(default=TRANSIENT)

    def decide(self, exc: BaseException, attempt: int) -> Decision:
        """What to do after try number `attempt` (1-based) failed with `exc`."""
        if isinstance(exc, (PermanentError, *self.permanent)):
            return DeadLetter(str(exc) or describe(exc), type(exc).__name__, attempt)
        if is_transient(exc, self.transient):
            return Retry(self.backoff(attempt))
        if attempt >= self.max_attempts:
            return DeadLetter(describe(exc), type(exc).__name__, attempt)
        return Retry(self.backoff(attempt))

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)


class Abandoned(Exception):
    """The wait between two tries was cut short (stop, or the partitions were revoked)."""


def retry(fn: Callable[[], T], policy: ErrorPolicy, wait: Callable[[float], bool],
          on_retry: Callable[[BaseException, int, Retry], None] | None = None
          ) -> T | DeadLetter:
    """`fn()` under the policy: its result, or the DeadLetter decision once it failed for
    good. Between tries `wait(seconds)` is called; when it returns False the tries stop
    and `Abandoned` is raised (nothing is dead-lettered, the offset stays held)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Abandoned:
            raise
        except Exception as exc:
            decision = policy.decide(exc, attempt)
            if isinstance(decision, DeadLetter):
                return decision
            if on_retry is not None:
                on_retry(exc, attempt, decision)
            if not wait(decision.after_s):
                raise Abandoned(describe(exc)) from exc
