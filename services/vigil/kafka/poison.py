"""The error policy (vigil.kafka.policy) for a stage's in-memory processing of one record
(decode, enrich, judge): a record whose processing fails never stops its partition.

- A `PermanentError` (bad input) or a type the caller declares permanent is
  dead-lettered at once with its message.
- Any other exception is of unknown kind: the processing is tried again at once, up to
  `attempts` times in all, then the record is dead-lettered with the exception's type
  and message, and the consumer goes on with the next record.

There is no transient kind here: pure processing has nothing to wait for. Outages of
the I/O around a stage (broker, store, judge endpoint) are retried with backoff by the
runner (vigil.kafka.runner) or the faust adapter's sends (vigil.kafka.producer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from vigil.kafka.policy import DeadLetter, ErrorPolicy, ErrorTypes, describe
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import POISON_RETRIES

log = get_logger(__name__)
T = TypeVar("T")
ATTEMPTS = 3

__all__ = ["ATTEMPTS", "Poison", "describe", "process", "process_async"]


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that could not be processed: why, for the dead-letter headers."""

    reason: str
    attempts: int


def _failed(exc: Exception, stage: str, attempt: int, policy: ErrorPolicy) -> Poison | None:
    decision = policy.decide(exc, attempt)
    if isinstance(decision, DeadLetter):
        return Poison(decision.reason, decision.attempts)
    POISON_RETRIES.labels(stage).inc()
    log.warning("processing a record failed", stage=stage, attempt=attempt,
                attempts=policy.max_attempts, error=describe(exc))
    return None


def _policy(attempts: int, permanent: ErrorTypes) -> ErrorPolicy:
    return ErrorPolicy(max_attempts=attempts, permanent=permanent, transient=())


def process(fn: Callable[[], T], stage: str, attempts: int = ATTEMPTS,
            permanent: ErrorTypes = ()) -> T | Poison:
    """`fn()`, or a Poison once it failed for good (see the module docstring). Exceptions
    of the `permanent` types count as bad input, like PayloadError."""
    policy = _policy(attempts, permanent)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if (poison := _failed(exc, stage, attempt, policy)) is not None:
                return poison
    raise AssertionError("unreachable: attempts must be at least 1")


async def process_async(fn: Callable[[], Awaitable[T]], stage: str,
                        attempts: int = ATTEMPTS, permanent: ErrorTypes = ()) -> T | Poison:
    """`await fn()`, under the same policy as `process`."""
    policy = _policy(attempts, permanent)
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if (poison := _failed(exc, stage, attempt, policy)) is not None:
                return poison
    raise AssertionError("unreachable: attempts must be at least 1")
