"""The spill directory: atomic parcels, oldest first, a size bound, one replaying owner."""

from __future__ import annotations

from pathlib import Path

from tests.support.factories import valid_event
from vigil_protos.v1 import events_pb2, ingest_pb2
from vigil_sdk.spill import SpillDir


def batch(*ids: int) -> ingest_pb2.EmitBatchRequest:
    return ingest_pb2.EmitBatchRequest(events=[valid_event(i) for i in ids])


def test_parcels_come_back_oldest_first_and_leave_only_when_removed(tmp_path: Path) -> None:
    spill = SpillDir(tmp_path, 10_000_000)
    first, second = batch(1, 2), batch(3)
    feedback = ingest_pb2.SubmitFeedbackRequest(feedback=events_pb2.FeedbackEvent(trace_id="t"))
    for parcel in (first, second, feedback):
        assert spill.write(parcel)
    assert not list(tmp_path.glob(".tmp-*"))
    seen = []
    while (item := spill.oldest()) is not None:
        assert spill.oldest() == item  # not consumed until removed
        seen.append(item.parcel)
        spill.remove(item.path)
    assert seen == [first, second, feedback]
    assert spill.bytes == 0 and spill.files() == []


def test_a_new_instance_finds_the_leftovers(tmp_path: Path) -> None:
    SpillDir(tmp_path, 10_000_000).write(batch(1))
    again = SpillDir(tmp_path, 10_000_000)
    assert again.has_parcels() and again.bytes > 0
    item = again.oldest()
    assert item is not None and isinstance(item.parcel, ingest_pb2.EmitBatchRequest)
    assert len(item.parcel.events) == 1


def test_the_size_bound_refuses_what_does_not_fit(tmp_path: Path) -> None:
    parcel = batch(1)
    spill = SpillDir(tmp_path, parcel.ByteSize() * 2)
    assert spill.write(parcel) and spill.write(parcel)
    assert not spill.write(parcel)
    assert len(spill.files()) == 2


def test_only_one_owner_replays(tmp_path: Path) -> None:
    one, two = SpillDir(tmp_path, 1000), SpillDir(tmp_path, 1000)
    assert one.try_own()
    assert not two.try_own()
    one.release()
    assert two.try_own()
    two.release()


def test_an_unreadable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "00000000000000000001-1-000000.traces").write_bytes(b"\xff\xff not a proto")
    item = SpillDir(tmp_path, 1000).oldest()
    assert item is not None and item.parcel is None
