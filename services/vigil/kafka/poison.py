"""The poison-record policy, one for every consumer: a record whose processing fails is
never allowed to stop its partition.

- A `PayloadError` (bad input, permanent) is dead-lettered at once with its message.
- Any other exception is of unknown kind: the processing is tried again, up to
  `attempts` times in all, then the record is dead-lettered with the exception's type
  and message, and the consumer goes on with the next record.

Transient failures of the I/O around a stage (the broker, the store, a judge endpoint)
are not this policy's business: the adapters retry those without limit and hold the
offset (backpressure). What reaches here is the stage's own processing of one record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from vigil.events.wire import PayloadError
from vigil.logs import get_logger
from vigil.metrics import POISON_RETRIES

log = get_logger(__name__)
T = TypeVar("T")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that could not be processed: why, for the dead-letter headers."""

    reason: str
    attempts: int


def describe(exc: BaseException) -> str:
    """`TypeName: message`, bounded, for a dead-letter reason header."""
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:1000]


Permanent = tuple[type[Exception], ...]


def _failed(exc: Exception, stage: str, attempt: int, attempts: int, permanent: Permanent
            ) -> Poison | None:
    if isinstance(exc, (PayloadError, *permanent)):
        return Poison(str(exc), attempt)
    POISON_RETRIES.labels(stage).inc()
    log.warning("processing a record failed", stage=stage, attempt=attempt,
                attempts=attempts, error=describe(exc))
    return Poison(describe(exc), attempt) if attempt >= attempts else None


def process(fn: Callable[[], T], stage: str, attempts: int = ATTEMPTS,
            permanent: Permanent = ()) -> T | Poison:
    """`fn()`, or a Poison once it failed for good (see the module docstring). Exceptions
    of the `permanent` types count as bad input, like PayloadError."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if (poison := _failed(exc, stage, attempt, attempts, permanent)) is not None:
                return poison
    raise AssertionError("unreachable: attempts must be at least 1")


async def process_async(fn: Callable[[], Awaitable[T]], stage: str,
                        attempts: int = ATTEMPTS, permanent: Permanent = ()) -> T | Poison:
    """`await fn()`, under the same policy as `process`."""
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if (poison := _failed(exc, stage, attempt, attempts, permanent)) is not None:
                return poison
    raise AssertionError("unreachable: attempts must be at least 1")
