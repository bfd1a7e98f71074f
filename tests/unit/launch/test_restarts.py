"""The restart policy of `vigil up` on a driven clock: exact delays and the give-up point."""

from __future__ import annotations

import pytest

from vigil.launch.restarts import GiveUp, History, Restart, RestartPolicy, on_crash

POLICY = RestartPolicy(delay_s=1.0, max_delay_s=8.0, max_crashes=5, window_s=60.0)


def _replay(policy: RestartPolicy, crash_times: list[float]) -> list[Restart | GiveUp]:
    history, decisions = History(), []
    for now in crash_times:
        history, decision = on_crash(policy, history, now)
        decisions.append(decision)
    return decisions


@pytest.mark.parametrize(("crash_times", "expected"), [
    pytest.param([100.0], [Restart(1.0, 101.0, 1, 1)], id="first crash: the first delay"),
    pytest.param([0.0, 5.0, 10.0, 20.0],
                 [Restart(1.0, 1.0, 1, 1), Restart(2.0, 7.0, 2, 2), Restart(4.0, 14.0, 3, 3),
                  Restart(8.0, 28.0, 4, 4)], id="doubles with every crash in the window"),
    pytest.param([0.0, 5.0, 10.0, 20.0, 30.0],
                 [Restart(1.0, 1.0, 1, 1), Restart(2.0, 7.0, 2, 2), Restart(4.0, 14.0, 3, 3),
                  Restart(8.0, 28.0, 4, 4), GiveUp(5, 60.0)],
                 id="the fifth crash inside 60 s gives up"),
    pytest.param([0.0, 59.9, 119.8, 179.7, 239.6, 299.5],
                 [Restart(1.0, 1.0, 1, 1), Restart(2.0, 61.9, 2, 2), Restart(2.0, 121.8, 3, 2),
                  Restart(2.0, 181.7, 4, 2), Restart(2.0, 241.6, 5, 2),
                  Restart(2.0, 301.5, 6, 2)], id="crashes a window apart never give up"),
    pytest.param([0.0, 60.0], [Restart(1.0, 1.0, 1, 1), Restart(1.0, 61.0, 2, 1)],
                 id="a crash exactly one window old has left it"),
    pytest.param([0.0, 1.0, 2.0, 100.0],
                 [Restart(1.0, 1.0, 1, 1), Restart(2.0, 3.0, 2, 2), Restart(4.0, 6.0, 3, 3),
                  Restart(1.0, 101.0, 4, 1)], id="a quiet window resets the delay"),
])
def test_restart_decisions(crash_times: list[float], expected: list[Restart | GiveUp]) -> None:
    assert _replay(POLICY, crash_times) == expected


@pytest.mark.parametrize(("recent", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)])
def test_the_delay_is_capped(recent: int, delay: float) -> None:
    assert RestartPolicy(delay_s=0.5, max_delay_s=3.0).delay(recent) == delay


def test_one_crash_allowed_gives_up_at_once() -> None:
    assert _replay(RestartPolicy(max_crashes=1), [7.0]) == [GiveUp(1, 60.0)]


def test_a_crash_loop_of_fast_restarts_gives_up_within_the_window() -> None:
    """A child that dies as soon as it is restarted: the decisions a supervisor following
    every `due` time would see, until the give-up."""
    history, now, decision = History(), 0.0, None
    outcomes: list[Restart | GiveUp] = []
    while not isinstance(decision, GiveUp):
        history, decision = on_crash(POLICY, history, now)
        outcomes.append(decision)
        if isinstance(decision, Restart):
            now = decision.due + 0.5  # dies half a second after it came back
    assert [o.delay_s for o in outcomes if isinstance(o, Restart)] == [1.0, 2.0, 4.0, 8.0]
    assert now == 17.0  # 1 + 2 + 4 + 8 + 4 x 0.5: the fifth crash
    assert outcomes[-1] == GiveUp(5, 60.0)


@pytest.mark.parametrize(("listen", "loopback"), [
    ("127.0.0.1:8501", True), ("localhost:8501", True), ("[::1]:8501", True),
    ("0.0.0.0:8501", False), ("10.1.2.3:8501", False), (":8501", False),
])
def test_the_dashboard_gets_the_demo_key_only_on_loopback(listen: str, loopback: bool) -> None:
    from vigil.launch.up import _loopback

    assert _loopback(listen) is loopback
