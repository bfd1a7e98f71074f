"""Pure conversion of topic payloads into `traces` and `feedback` table rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from vigil.events import FeedbackEvent
from vigil.events.wire import PayloadError

TRACE_COLUMNS = (
    "project_id", "start_time", "end_time", "event_id", "trace_id", "span_id",
    "parent_span_id", "session_id", "user_id", "app", "environment", "provider", "model",
    "params", "prompt", "completion", "finish_reason", "prompt_template_id",
    "prompt_template_version", "input_tokens", "output_tokens", "cached_input_tokens",
    "tokens_estimated", "input_cost", "output_cost", "total_cost", "cost_known",
    "price_source", "latency_ms", "status", "error_type", "error_message", "attributes",
    "pii_masked", "received_at", "raw_partition", "raw_offset",
)
_TIME_COLUMNS = frozenset({"start_time", "end_time", "received_at"})
_INT, _NUM = (int,), (int, float)
TRACE_TYPES: dict[str, tuple[type, ...]] = {
    **{c: (str,) for c in TRACE_COLUMNS},
    **{c: _INT for c in ("input_tokens", "output_tokens", "cached_input_tokens",
                         "raw_partition", "raw_offset")},
    **{c: _NUM for c in ("input_cost", "output_cost", "total_cost", "latency_ms")},
    "tokens_estimated": (bool,), "cost_known": (bool,),
    "attributes": (dict,), "pii_masked": (dict,),
}
T = TypeVar("T")
FEEDBACK_COLUMNS = (
    "project_id", "time", "feedback_id", "trace_id", "kind", "value", "comment", "user_id",
    "received_at", "source_partition", "source_offset",
)


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One enriched trace as the JSON line ClickHouse will parse, plus what dedup needs."""

    line: bytes
    project_id: str
    event_id: str
    start_time: str


def trace_line(line: bytes, record: dict[str, Any]) -> TraceLine:
    """Check one enriched record against the `traces` columns; raise PayloadError if off."""
    for column, types in TRACE_TYPES.items():
        value = record.get(column)
        if not isinstance(value, types) or (types is _INT and isinstance(value, bool)):
            raise PayloadError(f"enriched trace field {column!r} is missing or not "
                               f"{'/'.join(t.__name__ for t in types)}: {value!r:.80}")
    for column in _TIME_COLUMNS:
        try:
            datetime.fromisoformat(record[column])
        except ValueError as exc:
            raise PayloadError(f"{column} is not an ISO time: {record[column]!r:.80}") from exc
    if not record["event_id"]:
        raise PayloadError("event_id is empty")
    return TraceLine(line, record["project_id"], record["event_id"], record["start_time"])


def feedback_row(f: FeedbackEvent, partition: int, offset: int) -> list[Any]:
    return [f.project_id, f.time, f.feedback_id, f.trace_id, f.kind, f.value, f.comment,
            f.user_id, f.received_at or f.time, partition, offset]


def first_occurrences(items: list[T], key: Callable[[T], str]) -> list[T]:
    """Drop the items whose key already appeared earlier in the list."""
    seen: set[str] = set()
    kept = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            kept.append(item)
    return kept
