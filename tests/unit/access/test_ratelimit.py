"""The token bucket, on an injected clock: no sleeps, no wall clock."""

from __future__ import annotations

import pytest

from vigil.access.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_full_bucket_allows_the_burst_then_refuses_with_the_wait(clock: Clock) -> None:
    limiter = RateLimiter(10, burst=20, clock=clock)
    assert all(limiter.take("k") is None for _ in range(20))
    refusal = limiter.take("k", 5)
    assert refusal is not None
    assert refusal.retry_after_s == pytest.approx(0.5)  # 5 tokens at 10/s
    assert "rate limit of 10 events/s" in str(refusal) and "retry in 0.50 s" in str(refusal)
    assert refusal.retry_after_whole_s == 1


def test_tokens_come_back_at_the_rate_and_never_above_the_burst(clock: Clock) -> None:
    limiter = RateLimiter(10, burst=20, clock=clock)
    assert limiter.take("k", 20) is None
    clock.now += 0.25  # 2.5 tokens back
    assert limiter.take("k", 2) is None
    assert limiter.take("k", 1) is not None
    clock.now += 3600  # a long pause refills to the burst, not beyond
    assert limiter.take("k", 20) is None
    assert limiter.take("k", 1) is not None


def test_a_refusal_takes_nothing(clock: Clock) -> None:
    limiter = RateLimiter(10, burst=10, clock=clock)
    assert limiter.take("k", 8) is None
    assert limiter.take("k", 5) is not None
    assert limiter.take("k", 2) is None  # the refused 5 were not taken


def test_a_batch_larger_than_the_burst_passes_once_then_repays_its_debt(clock: Clock) -> None:
    limiter = RateLimiter(100, burst=50, clock=clock)
    assert limiter.take("k", 250) is None  # full bucket: accepted, 200 in debt
    refusal = limiter.take("k", 1)
    assert refusal is not None and refusal.retry_after_s == pytest.approx(2.01)
    clock.now += 2.0
    assert limiter.take("k", 1) is not None
    clock.now += 0.125
    assert limiter.take("k", 1) is None


def test_keys_have_their_own_buckets(clock: Clock) -> None:
    limiter = RateLimiter(1, burst=1, clock=clock)
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
    assert limiter.take("b") is None


def test_zero_rate_is_off_and_burst_defaults_to_one_second(clock: Clock) -> None:
    off = RateLimiter(0, clock=clock)
    assert not off.enabled
    assert all(off.take("k", 1_000_000) is None for _ in range(3))
    default = RateLimiter(5, clock=clock)
    assert default.burst == 5
    assert default.take("k", 5) is None and default.take("k") is not None


def test_a_clock_going_backwards_adds_no_tokens(clock: Clock) -> None:
    limiter = RateLimiter(10, burst=10, clock=clock)
    assert limiter.take("k", 10) is None
    clock.now -= 100
    assert limiter.take("k") is not None
