"""Waiting for a condition with a deadline (never a fixed sleep). Standard library only,
so the SDK's unit tests also run where only the SDK is installed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float = 60, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except RuntimeError:
            raise
        except Exception as exc:  # the thing probed may not be up yet
            last_error = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last error: "
                         f"{last_error!r}")
