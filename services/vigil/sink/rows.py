"""Pure conversion of topic payloads into `traces` and `feedback` table rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
FEEDBACK_COLUMNS = (
    "project_id", "time", "feedback_id", "trace_id", "kind", "value", "comment", "user_id",
    "received_at", "source_partition", "source_offset",
)


def trace_row(record: dict[str, Any]) -> list[Any]:
    """One enriched record -> one `traces` row, in TRACE_COLUMNS order."""
    try:
        row = [record[c] for c in TRACE_COLUMNS]
    except KeyError as exc:
        raise PayloadError(f"enriched trace lacks {exc.args[0]!r}") from exc
    for i, column in enumerate(TRACE_COLUMNS):
        if column in _TIME_COLUMNS:
            try:
                row[i] = datetime.fromisoformat(row[i])
            except (TypeError, ValueError) as exc:
                raise PayloadError(f"{column} is not an ISO time: {row[i]!r}") from exc
    if not row[3] or not isinstance(row[3], str):
        raise PayloadError("event_id is empty")
    return row


def feedback_row(f: FeedbackEvent, partition: int, offset: int) -> list[Any]:
    return [f.project_id, f.time, f.feedback_id, f.trace_id, f.kind, f.value, f.comment,
            f.user_id, f.received_at or f.time, partition, offset]


def first_occurrences(rows: list[list[Any]], id_index: int) -> list[list[Any]]:
    """Drop rows whose id already appeared earlier in the same list."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row[id_index] not in seen:
            seen.add(row[id_index])
            kept.append(row)
    return kept
