"""The one error policy as a pure function of (exception, attempt), and its retry loop on
a fake clock: permanent errors dead-lettered at once, transient ones retried with backoff
without limit, unknown ones a bounded number of times, then dead-lettered with their type."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError

from vigil.core.errors import PermanentError, StoreUnavailable
from vigil.events.wire import PayloadError
from vigil.kafka.policy import Abandoned, DeadLetter, ErrorPolicy, Retry, retry
from vigil.kafka.signing import SignatureError
from vigil.store.remote_writer import StoreWriteRefused
from vigil.store.writer import RowsRefused

POLICY = ErrorPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=10.0)


@pytest.mark.parametrize(("exc", "attempt", "decision"), [
    (PayloadError("not a vigil.v1.TraceBatch"), 1,
     DeadLetter("not a vigil.v1.TraceBatch", "PayloadError", 1)),
    (SignatureError("unsigned record"), 1, DeadLetter("unsigned record", "SignatureError", 1)),
    (RowsRefused("the store refused the rows"), 1,
     DeadLetter("the store refused the rows", "RowsRefused", 1)),
    (PermanentError(), 1, DeadLetter("PermanentError: PermanentError()", "PermanentError", 1)),
    (StoreUnavailable("down"), 1, Retry(0.2)),
    (StoreUnavailable("down"), 4, Retry(1.6)),
    (StoreUnavailable("down"), 1000, Retry(10.0)),  # never given up, capped backoff
    (StoreWriteRefused("503"), 50, Retry(10.0)),
    (ConnectionRefusedError("refused"), 7, Retry(10.0)),
    (TimeoutError("slow"), 3, Retry(0.8)),
    (KafkaConnectionError(), 9, Retry(10.0)),  # kafka-python's retriable errors
    (KafkaTimeoutError("no ack"), 3, Retry(0.8)),
    (MessageSizeTooLargeError("big"), 3,  # not retriable: of unknown kind here
     DeadLetter("MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError: big",
                "MessageSizeTooLargeError", 3)),
    (KeyError("project_id"), 1, Retry(0.2)),
    (KeyError("project_id"), 2, Retry(0.4)),
    (KeyError("project_id"), 3, DeadLetter("KeyError: 'project_id'", "KeyError", 3)),
    (OSError("disk"), 3, DeadLetter("OSError: disk", "OSError", 3)),
])
def test_the_decision(exc: BaseException, attempt: int, decision: object) -> None:
    assert POLICY.decide(exc, attempt) == decision


def test_types_a_stage_declares_permanent_are_dead_lettered_at_once() -> None:
    policy = ErrorPolicy(permanent=(ValueError,))
    assert policy.decide(ValueError("bad line"), 1) == DeadLetter("bad line", "ValueError", 1)


def test_without_transient_types_an_outage_is_of_unknown_kind() -> None:
    policy = ErrorPolicy(max_attempts=2, transient=())
    assert policy.decide(StoreUnavailable("down"), 2) == DeadLetter(
        "StoreUnavailable: down", "StoreUnavailable", 2)
    assert policy.decide(KafkaConnectionError(), 1) == Retry(0.2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return True


class Failing:
    """Raises the given exceptions in turn, then returns 'written'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "written"


def test_an_outage_is_waited_out_with_backoff_however_long() -> None:
    clock, fn = FakeClock(), Failing(*[StoreUnavailable("down")] * 12)
    assert retry(fn, POLICY, clock.wait) == "written"
    assert fn.calls == 13
    assert clock.waits == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4] + [10.0] * 6
    assert clock.now == pytest.approx(72.6)


def test_an_unknown_error_is_tried_max_attempts_times_then_dead_lettered() -> None:
    clock, fn = FakeClock(), Failing(*[ZeroDivisionError("division by zero")] * 5)
    assert retry(fn, POLICY, clock.wait) == DeadLetter(
        "ZeroDivisionError: division by zero", "ZeroDivisionError", 3)
    assert fn.calls == 3 and clock.waits == [0.2, 0.4]


def test_an_unknown_error_that_goes_away_is_not_dead_lettered() -> None:
    clock, fn = FakeClock(), Failing(RuntimeError("once"), RuntimeError("twice"))
    assert retry(fn, POLICY, clock.wait) == "written"
    assert fn.calls == 3


def test_outages_between_unknown_errors_count_as_tries_but_never_end_them() -> None:
    clock = FakeClock()
    fn = Failing(RuntimeError("a"), StoreUnavailable("down"), RuntimeError("b"))
    assert retry(fn, POLICY, clock.wait) == DeadLetter("RuntimeError: b", "RuntimeError", 3)
    assert clock.waits == [0.2, 0.4]


def test_a_permanent_error_is_not_retried() -> None:
    clock, fn = FakeClock(), Failing(PayloadError("empty record"))
    assert retry(fn, POLICY, clock.wait) == DeadLetter("empty record", "PayloadError", 1)
    assert fn.calls == 1 and clock.waits == []


def test_a_wait_cut_short_abandons_without_a_dead_letter() -> None:
    waits: list[float] = []

    def stopped(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) < 3

    with pytest.raises(Abandoned, match="StoreUnavailable: down"):
        retry(Failing(*[StoreUnavailable("down")] * 9), POLICY, stopped)
    assert waits == [0.2, 0.4, 0.8]


def test_retries_are_reported_before_each_wait() -> None:
    seen: list[tuple[str, int, float]] = []
    retry(Failing(StoreUnavailable("down"), KeyError("x")), POLICY, FakeClock().wait,
          lambda exc, n, d: seen.append((type(exc).__name__, n, d.after_s)))
    assert seen == [("StoreUnavailable", 1, 0.2), ("KeyError", 2, 0.4)]


def test_a_keyboard_interrupt_is_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        retry(Failing(KeyboardInterrupt()), POLICY, FakeClock().wait)
