"""The restart policy of `vigil up`: when a crashed child comes back, and when to give up.

Pure: `on_crash(policy, history, now)` returns the child's new history and a
decision, from `now` (monotonic seconds) alone. The delay doubles with every
crash inside the window, from `delay_s` up to `max_delay_s`; the crash that
makes `max_crashes` inside `window_s` seconds is the one `vigil up` gives up on.
A child that stays up for a whole window starts again from the first delay.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_crashes: int = 5
    window_s: float = 60.0

    def delay(self, recent_crashes: int) -> float:
        """The wait before the restart that follows the `recent_crashes`-th crash."""
        return float(min(self.max_delay_s, self.delay_s * 2 ** (recent_crashes - 1)))


@dataclass(frozen=True, slots=True)
class History:
    """One child's crashes inside the current window and its restarts so far."""

    crashes: tuple[float, ...] = ()
    restarts: int = 0


@dataclass(frozen=True, slots=True)
class Restart:
    delay_s: float
    due: float  # monotonic seconds
    restart: int  # this is the child's n-th restart
    recent_crashes: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    recent_crashes: int
    window_s: float


def on_crash(policy: RestartPolicy, history: History, now: float
             ) -> tuple[History, Restart | GiveUp]:
    recent = (*(t for t in history.crashes if now - t < policy.window_s), now)
    if len(recent) >= policy.max_crashes:
        return History(recent, history.restarts), GiveUp(len(recent), policy.window_s)
    delay = policy.delay(len(recent))
    restart = history.restarts + 1
    return History(recent, restart), Restart(delay, now + delay, restart, len(recent))
