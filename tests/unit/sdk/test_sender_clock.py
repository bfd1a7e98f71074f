"""The sender's backoff and spill rules on a clock the test drives: exact outcomes, no
real waiting. The sender's loop step is called directly; no thread runs."""

from __future__ import annotations

import queue
from pathlib import Path

from tests.unit.sdk.conftest import FakeCollector
from vigil_sdk.items import PendingTrace
from vigil_sdk.sender import Sender, SenderConfig
from vigil_sdk.stats import Counters


class FakeTime:
    """Monotonic seconds that move only when a pause asks them to (or the test does)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    def pause(self, seconds: float) -> bool:
        self.pauses.append(round(seconds, 6))
        self.now += seconds
        return False  # not stopping


def trace(n: int) -> PendingTrace:
    fields = dict.fromkeys(PendingTrace._fields, "")
    fields.update(event_id=f"e{n}", trace_id=f"{n:032x}", model="m", prompt=f"p{n}",
                  completion="c", start=None, end=1_700_000_000.25, input_tokens=None,
                  output_tokens=None, cached_input_tokens=None, status=None, params=None,
                  attributes=None)
    return PendingTrace(**fields)


def sender(collector: FakeCollector, time: FakeTime, spill: Path | None
           ) -> tuple[Sender, queue.Queue[object], Counters]:
    items: queue.Queue[object] = queue.Queue(maxsize=100)
    counters = Counters()
    config = SenderConfig(app="a", environment="test", batch_size=1, flush_interval_s=0,
                          spill_dir=spill, max_spill_bytes=10_000_000 if spill else 0,
                          backoff_initial_s=2.0, backoff_max_s=8.0)
    made = Sender(items, collector, counters, config, clock=time.clock, pause=time.pause,
                  jitter=lambda: 1.0)
    made._spill = made._open_spill()
    return made, items, counters


def test_without_a_spill_dir_the_held_batch_is_retried_after_a_doubling_backoff(
        collector: FakeCollector) -> None:
    time = FakeTime()
    made, items, counters = sender(collector, time, spill=None)
    collector.outcome = "transient"
    items.put(trace(1))
    made._step()  # the first try fails at t=100: down for 2 s
    assert collector.calls == 1 and time.pauses == []
    for _ in range(4):
        made._step()
    # each retry waits out the backoff first: 2, 4, 8, then capped at 8
    assert time.pauses == [2.0, 4.0, 8.0, 8.0]
    assert collector.calls == 5 and counters.sent == 0
    collector.outcome = None
    made._step()
    assert collector.calls == 6 and counters.sent == 1 and len(collector.events) == 1
    assert time.pauses[-1] == 8.0
    # up again: the next failure starts from the initial backoff
    collector.outcome = "transient"
    items.put(trace(2))
    made._step()
    made._step()
    assert time.pauses[-1] == 2.0


def test_while_the_collector_is_down_the_queue_goes_to_the_spill_dir_untried(
        collector: FakeCollector, tmp_path: Path) -> None:
    time = FakeTime()
    made, items, counters = sender(collector, time, spill=tmp_path / "spill")
    collector.outcome = "transient"
    items.put(trace(1))
    made._step()  # fails at t=100, spilled; down until t=102
    assert collector.calls == 1 and counters.spilled == 1
    time.now = 101.999
    items.put(trace(2))
    made._step()
    assert collector.calls == 1, "the network is not tried before the backoff ends"
    assert counters.spilled == 2
    time.now = 102.0
    collector.outcome = None
    made._step()  # replays the oldest spilled parcel first
    assert collector.calls == 2 and [e.trace_id for e in collector.events] == [f"{1:032x}"]
    made._step()
    assert [e.trace_id for e in collector.events] == [f"{1:032x}", f"{2:032x}"]
    assert counters.replayed == 2 and not made._spill.has_parcels()  # type: ignore[union-attr]
