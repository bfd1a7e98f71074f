"""The SDK's prompt cache on a driven clock: hits, refresh ahead of expiry, stale while the
server is away, one blocking first fetch and none after a failure, retry backoff."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vigil_sdk.prompt_cache import Delivery, PromptCache
from vigil_sdk.prompts import PromptContent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A fetch function: answers version `version`, or raises while `down`."""

    def __init__(self) -> None:
        self.version, self.down, self.calls = 1, False, 0

    def __call__(self, name: str, label: str) -> Delivery:
        self.calls += 1
        if self.down:
            raise ConnectionError("UNAVAILABLE: connection refused")
        return Delivery(label, PromptContent(name, self.version, "text", template="hi"))


class Jobs:
    """A refresher that keeps the background jobs until the test runs them."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.pending.append(job)

    def run(self) -> int:
        done = len(self.pending)
        while self.pending:
            self.pending.pop(0)()
        return done


def make(ttl: float = 60.0, retry: float = 5.0) -> tuple[PromptCache, Clock, Server, Jobs,
                                                          list[BaseException]]:
    clock, server, jobs, errors = Clock(), Server(), Jobs(), []
    cache = PromptCache(server, ttl_s=ttl, retry_s=retry, clock=clock, refresher=jobs,
                        on_error=errors.append)
    return cache, clock, server, jobs, errors


def version(found: tuple[Delivery | None, str]) -> tuple[int | None, str]:
    delivery, how = found
    return (delivery.prompt.version if delivery else None), how


def test_first_fetch_then_hits_without_calls() -> None:
    cache, clock, server, jobs, _ = make()
    assert version(cache.get("greet", "production")) == (1, "fetched")
    for _ in range(100):
        assert version(cache.get("greet", "production")) == (1, "hit")
    clock.now += 47.9  # before 80 % of the TTL: no refresh
    assert version(cache.get("greet", "production")) == (1, "hit")
    assert (server.calls, jobs.pending) == (1, [])
    assert version(cache.get("greet", "staging")) == (1, "fetched")  # its own entry


def test_refresh_ahead_of_expiry_picks_up_a_new_version() -> None:
    cache, clock, server, jobs, _ = make()
    cache.get("greet", "production")
    server.version = 2
    clock.now += 48.5  # past 80 % of 60 s: one background refresh, the caller is served
    assert version(cache.get("greet", "production")) == (1, "hit")
    assert version(cache.get("greet", "production")) == (1, "hit")
    assert len(jobs.pending) == 1  # one refresh per key at a time
    jobs.run()
    assert version(cache.get("greet", "production")) == (2, "hit")
    assert server.calls == 2


def test_stale_while_the_server_is_down_then_fresh_after() -> None:
    cache, clock, server, jobs, errors = make()
    cache.get("greet", "production")
    server.down = True
    clock.now += 61
    assert version(cache.get("greet", "production")) == (1, "stale")
    jobs.run()
    assert len(errors) == 1
    clock.now += 1  # within the retry backoff: no new attempt
    assert version(cache.get("greet", "production")) == (1, "stale")
    assert jobs.pending == []
    clock.now += 5
    server.down, server.version = False, 3
    assert version(cache.get("greet", "production")) == (1, "stale")
    jobs.run()
    assert version(cache.get("greet", "production")) == (3, "hit")


def test_a_failed_first_fetch_blocks_once_then_retries_in_the_background() -> None:
    cache, clock, server, jobs, errors = make()
    server.down = True
    assert version(cache.get("greet", "production")) == (None, "miss")
    assert server.calls == 1 and len(errors) == 1
    for _ in range(50):  # no caller waits for the server again
        assert version(cache.get("greet", "production")) == (None, "miss")
    assert server.calls == 1 and jobs.pending == []
    clock.now += 5
    assert version(cache.get("greet", "production")) == (None, "miss")
    assert len(jobs.pending) == 1
    server.down = False
    jobs.run()
    assert version(cache.get("greet", "production")) == (1, "hit")


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="prompt_ttl_s must be positive"):
        PromptCache(Server(), ttl_s=0)
