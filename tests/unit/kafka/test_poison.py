"""The one poison-record policy: bad input dead-lettered at once, an unknown exception
tried a bounded number of times, then dead-lettered with its type; never raised."""

from __future__ import annotations

import asyncio

import pytest

from vigil.events.wire import PayloadError
from vigil.kafka.poison import Poison, process, process_async


class Flaky:
    """Fails the first `failures` calls with `exc`, then returns 'ok'."""

    def __init__(self, failures: int, exc: Exception) -> None:
        self.failures, self.exc, self.calls = failures, exc, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "ok"


@pytest.mark.parametrize(("failures", "exc", "result", "calls"), [
    (0, OSError("x"), "ok", 1),
    (2, OSError("disk"), "ok", 3),  # recovered on the last attempt
    (3, OSError("disk"), Poison("OSError: disk", 3), 3),
    (9, KeyError("project_id"), Poison("KeyError: 'project_id'", 3), 3),
    (9, PayloadError("not a vigil.v1.TraceBatch"), Poison("not a vigil.v1.TraceBatch", 1), 1),
    (9, ValueError("bad line"), Poison("bad line", 1), 1),  # ValueError declared permanent
])
def test_the_policy(failures: int, exc: Exception, result: object, calls: int) -> None:
    fn = Flaky(failures, exc)
    assert process(fn, "test", attempts=3, permanent=(ValueError,)) == result
    assert fn.calls == calls


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert process(Flaky(9, RecursionError()), "test") == Poison(
        "RecursionError: RecursionError()", 3)


def test_the_async_policy_is_the_same() -> None:
    fn = Flaky(9, ZeroDivisionError("division by zero"))

    async def call() -> str:
        return fn()

    assert asyncio.run(process_async(call, "test", attempts=2)) == Poison(
        "ZeroDivisionError: division by zero", 2)
    assert fn.calls == 2


def test_a_keyboard_interrupt_is_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        process(Flaky(1, KeyboardInterrupt()), "test")  # type: ignore[arg-type]
