"""VigilClient on a fake collector: queueing, accounting, spill and replay, flush/close."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.polling import wait_until
from tests.unit.sdk.conftest import FakeCollector
from vigil_sdk import VigilClient

MakeClient = Callable[..., VigilClient]


def test_records_are_sent_in_batches_with_their_ids(make_client: MakeClient,
                                                    collector: FakeCollector) -> None:
    client = make_client(collector, batch_size=50)
    ids = [client.record(model="gpt-4o", provider="openai", completion=f"a{i}")
           for i in range(120)]
    feedback_id = client.submit_feedback(ids[0] or "", "thumbs", True)
    assert client.flush(5)
    assert [e.event_id for e in collector.events] == ids
    assert all(len(b.events) <= 50 for b in collector.batches)
    assert [f.feedback_id for f in collector.feedback] == [feedback_id]
    stats = client.stats()
    assert (stats.recorded, stats.sent, stats.rejected, stats.dropped_total) == (121, 121, 0, 0)
    assert stats.collector_up is True


def test_a_full_queue_drops_and_counts_without_blocking(make_client: MakeClient,
                                                        collector: FakeCollector) -> None:
    collector.gate = threading.Event()  # the collector hangs: the sender is stuck in a call
    client = make_client(collector, max_queue=5, batch_size=1)
    first = client.record(model="m")
    assert collector.entered.wait(5)
    ids = [client.record(model="m") for _ in range(100)]
    kept = [i for i in ids if i is not None]
    assert len(kept) == 5
    stats = client.stats()
    assert stats.dropped == {"queue_full": 95}
    assert stats.recorded == 6
    collector.gate.set()
    assert client.flush(5)
    assert {e.event_id for e in collector.events} == {first, *kept}


def test_invalid_events_are_counted_as_rejected_with_the_reason(
        make_client: MakeClient, collector: FakeCollector) -> None:
    client = make_client(collector)
    client.record(model="")
    client.record(model="ok")
    assert client.flush(5)
    stats = client.stats()
    assert (stats.sent, stats.rejected, stats.last_rejection) == (1, 1, "model: is required")


def test_an_unknown_key_drops_and_counts(make_client: MakeClient,
                                         collector: FakeCollector) -> None:
    collector.outcome = "unauthenticated"
    client = make_client(collector)
    client.record(model="m")
    client.submit_feedback("t", "score", 0.5)
    assert client.flush(5)
    assert client.stats().dropped == {"unauthenticated": 2}


def test_a_batch_too_large_for_the_server_is_split(make_client: MakeClient,
                                                   collector: FakeCollector) -> None:
    collector.max_events = 3
    client = make_client(collector, batch_size=20, flush_interval_s=0.5)
    ids = [client.record(model="m") for _ in range(20)]
    assert client.flush(5)
    assert sorted(e.event_id for e in collector.events) == sorted(ids)  # type: ignore[type-var]
    assert client.stats().sent == 20


def test_outage_spills_then_replays_oldest_first(make_client: MakeClient,
                                                 collector: FakeCollector,
                                                 tmp_path: Path) -> None:
    collector.outcome = "transient"
    client = make_client(collector, batch_size=10)
    ids = [client.record(model="m", completion=str(i)) for i in range(35)]
    assert client.flush(5)  # flushed to the spill dir
    stats = client.stats()
    assert stats.spilled == 35 and stats.collector_up is False
    assert list((tmp_path / "spill").glob("*.traces"))

    collector.outcome = None
    wait_until(lambda: client.stats().replayed == 35, 30, "the replay")
    assert [e.event_id for e in collector.events] == ids
    assert not list((tmp_path / "spill").glob("*.traces"))
    stats = client.stats()
    assert (stats.sent, stats.replayed, stats.dropped_total) == (35, 35, 0)


def test_a_new_client_replays_what_an_old_one_spilled(make_client: MakeClient,
                                                      tmp_path: Path) -> None:
    down = FakeCollector()
    down.outcome = "transient"
    old = make_client(down)
    ids = [old.record(model="m") for _ in range(7)]
    feedback_id = old.submit_feedback("t1", "text", comment="great")
    assert old.close(5)
    assert old.stats().spilled == 8

    up = FakeCollector()
    new = make_client(up)
    wait_until(lambda: new.stats().replayed == 8, 30, "the leftovers replayed")
    assert [e.event_id for e in up.events] == ids
    assert [f.feedback_id for f in up.feedback] == [feedback_id]
    assert new.stats().recorded == 0


def test_without_spilling_the_queue_is_the_buffer_and_close_counts_the_rest(
        make_client: MakeClient, collector: FakeCollector) -> None:
    collector.outcome = "transient"
    client = make_client(collector, max_spill_bytes=0, max_queue=10, batch_size=5)
    results = [client.record(model="m") for _ in range(200)]
    assert results.count(None) > 0
    assert not client.close(0.5)
    stats = client.stats()
    assert stats.spilled == 0
    assert stats.dropped["queue_full"] == results.count(None)
    assert stats.dropped["closed"] == stats.recorded  # nothing was sent: all counted
    assert client.record(model="late") is None
    assert client.stats().dropped["closed"] == stats.recorded + 1


def test_a_full_spill_dir_drops_and_counts(make_client: MakeClient,
                                           collector: FakeCollector) -> None:
    collector.outcome = "transient"
    client = make_client(collector, max_spill_bytes=200, batch_size=1)
    for _ in range(10):
        client.record(model="m", completion="x" * 50)
    assert client.flush(5)
    stats = client.stats()
    assert stats.spilled + stats.dropped["spill_full"] == 10
    assert stats.dropped["spill_full"] > 0


def test_flush_and_close_are_safe_to_repeat(make_client: MakeClient,
                                            collector: FakeCollector) -> None:
    client = make_client(collector)
    client.record(model="m")
    assert client.close(5)
    assert client.close(5)
    assert client.flush(1)
    assert collector.closed
    assert client.stats().sent == 1


@pytest.mark.parametrize("settings", [{"max_queue": 0}, {"sample_rate": 1.5},
                                      {"batch_size": 0}, {"timeout_s": 0}])
def test_invalid_settings_fail_at_construction(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        VigilClient("key", app="a", transport=FakeCollector(), **settings)  # type: ignore[arg-type]
