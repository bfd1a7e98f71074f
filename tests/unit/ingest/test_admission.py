"""The bound on events ingest holds before Kafka confirmed them."""

from __future__ import annotations

import pytest

from vigil.ingest.admission import Admission


def test_calls_pass_until_the_bound_then_are_refused_whole() -> None:
    admission = Admission(max_pending=1000)
    assert admission.take(600) is None
    assert admission.take(400) is None  # exactly at the bound
    refusal = admission.take(1)
    assert refusal is not None and admission.pending == 1000  # nothing taken
    assert (refusal.pending, refusal.limit) == (1000, 1000)
    assert str(refusal) == ("ingest is overloaded: 1000 events pending (limit 1000); "
                            "retry with backoff")


def test_released_events_make_room_again() -> None:
    admission = Admission(max_pending=1000)
    assert admission.take(900) is None
    assert admission.take(200) is not None
    admission.release(500)
    assert admission.take(200) is None and admission.pending == 600


@pytest.mark.parametrize("batch", [100, 5000])
def test_a_call_passes_while_nothing_is_pending_even_over_the_bound(batch: int) -> None:
    admission = Admission(max_pending=100)
    assert admission.take(batch) is None
    assert admission.take(1) is not None


def test_zero_turns_the_bound_off() -> None:
    admission = Admission(max_pending=0)
    assert all(admission.take(10_000) is None for _ in range(100))


def test_release_never_goes_below_zero() -> None:
    admission = Admission(max_pending=10)
    admission.release(5)
    assert admission.pending == 0
