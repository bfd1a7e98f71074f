"""What the runner (vigil.kafka.runner) holds between polls: a batch of decoded records
with the offsets they span, and the limits that close it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kafka import TopicPartition

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BatchLimits:
    max_size: int  # flush once the items' sizes add up to this
    max_wait_s: float  # ... or once the oldest record waited this long
    max_records: int = 2000  # records per poll
    poll_timeout_ms: int = 100


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    tp: TopicPartition
    record: Any  # the ConsumerRecord, kept to dead-letter it if its write fails for good
    item: T


@dataclass(slots=True)
class Batch(Generic[T]):
    entries: list[Entry[T]] = field(default_factory=list)
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    started: float = 0.0
    size: int = 0

    def __len__(self) -> int:
        return self.size

    def token(self) -> str:
        """The batch's partition/offset ranges: the same records give the same token."""
        return ",".join(f"{tp.topic}:{tp.partition}:{self.first_offsets[tp]}-{end}"
                        for tp, end in sorted(self.next_offsets.items()))

    def single(self, entry: Entry[T], size: int) -> Batch[T]:
        """A batch of this one record (to find the poison one in a batch that fails)."""
        offset = entry.record.offset
        return Batch([entry], {entry.tp: offset}, {entry.tp: offset + 1}, self.started, size)
