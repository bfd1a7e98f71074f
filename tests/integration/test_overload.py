"""A 2x overload burst while Kafka cannot keep up: ingest refuses with
RESOURCE_EXHAUSTED instead of holding more in memory, the clients back off and
resend the same events, and each acknowledged event is stored once (reliability
suite).

Kafka is made unable to keep up for real: the broker process is frozen (SIGSTOP)
while eight clients offer twice the events ingest may hold unconfirmed, then
thawed (SIGCONT)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import Broker, Stack, free_port, wait_until
from tests.support.chaos import record_fault
from tests.support.load import Load, rss_bytes

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
MAX_PENDING = 4000
MIB = 1024 * 1024


@pytest.fixture
def broker_and_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Stack]]:
    root = tmp_path_factory.mktemp("overload")
    own = Broker(free_port(), root / "broker.log")  # frozen below: not the shared one
    own.start()
    stack = Stack(root, own.bootstrap, VIGIL_INGEST_MAX_PENDING_EVENTS=str(MAX_PENDING),
                  VIGIL_SINK_BATCH_ROWS="5000", VIGIL_SINK_BATCH_SECONDS="0.3")
    try:
        stack.start("sink", "enrich", "ingest")
        yield own, stack
    finally:
        if own.proc is not None:
            own.proc.send_signal(signal.SIGCONT)
        stack.stop()
        own.kill()


class _PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, rss_bytes(pid), threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, rss_bytes(self.pid))


def test_a_burst_over_twice_the_bound_gets_resource_exhausted_and_loses_nothing(
        broker_and_stack: tuple[Broker, Stack]) -> None:
    broker, stack = broker_and_stack
    warmup = Load(stack.target, batches=2, size=100).start()
    assert warmup.done.wait(60) and not warmup.errors, warmup.errors
    ingest = stack.service("ingest")
    assert ingest.proc is not None and broker.proc is not None
    rss_before = rss_bytes(ingest.proc.pid)
    sampler = _PeakRss(ingest.proc.pid)

    burst = Load(stack.target, batches=4, size=1000, clients=8, pause_s=0)  # 2x the bound
    broker.proc.send_signal(signal.SIGSTOP)
    try:
        burst.start()
        wait_until(lambda: burst.answers["RESOURCE_EXHAUSTED"] >= 4, 60,
                   "RESOURCE_EXHAUSTED answers while Kafka is frozen")
    finally:
        broker.proc.send_signal(signal.SIGCONT)
    assert burst.done.wait(180) and not burst.errors, burst.errors
    sampler.stop.set()

    total = warmup.sent + burst.sent
    stats = wait_until(lambda: (s := stack.get("/v1/stats"))["traces"] >= total and s, 180,
                       "every acknowledged event stored")
    record_fault("2x overload burst with Kafka frozen", sent=burst.sent, accepted=burst.acked,
                 stored=stats["traces"] - warmup.sent, distinct=stats["distinct_event_ids"] -
                 warmup.sent, answers=dict(burst.answers),
                 ingest_rss_mib=f"{rss_before // MIB}/{sampler.peak // MIB}")
    assert burst.details["ingest is overloaded"] == burst.answers["RESOURCE_EXHAUSTED"] > 0
    assert burst.acked == burst.sent
    assert (stats["traces"], stats["distinct_event_ids"]) == (total, total)
    assert sampler.peak <= 2 * rss_before + 200 * MIB
