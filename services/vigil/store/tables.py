"""Pure checks and conversions of topic payloads into table rows.

JSON-lines topics (enriched traces, judge scores, judge sampling counts) carry
one object per line whose keys are the table's columns; each line is checked
against its `TableSpec` and handed to ClickHouse as it is. Feedback arrives
as protobuf and becomes such a JSON line here, so every table takes one write
path (vigil.store.writer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson

from vigil.events import FeedbackEvent
from vigil.events.wire import PayloadError

T = TypeVar("T")
_STR, _INT, _NUM, _BOOL, _MAP = (str,), (int,), (int, float), (bool,), (dict,)


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    types: dict[str, tuple[type, ...]]  # column -> accepted JSON types, in column order
    id_column: str
    time_column: str
    time_columns: frozenset[str]
    optional: frozenset[str] = frozenset()  # columns a record of an older writer may lack

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.types)


@dataclass(frozen=True, slots=True)
class Line:
    """One row as the JSON line ClickHouse will parse, plus what dedup needs."""

    line: bytes
    project_id: str
    id: str
    time: str


def _spec(table: str, id_column: str, time_column: str, time_columns: set[str], /,
          optional: frozenset[str] = frozenset(), **types: tuple[type, ...]) -> TableSpec:
    return TableSpec(table, types, id_column, time_column, frozenset(time_columns), optional)


TRACES = _spec(
    "traces", "event_id", "start_time", {"start_time", "end_time", "received_at"},
    # added by migration 0010: an enrich of before it writes records without them
    frozenset({"completion_tool_calls", "tool_definitions"}),
    project_id=_STR, start_time=_STR, end_time=_STR, event_id=_STR, trace_id=_STR,
    span_id=_STR, parent_span_id=_STR, session_id=_STR, user_id=_STR, app=_STR,
    environment=_STR, provider=_STR, model=_STR, params=_STR, prompt=_STR, completion=_STR,
    completion_tool_calls=_STR, tool_definitions=_STR, finish_reason=_STR,
    prompt_template_id=_STR, prompt_template_version=_STR,
    input_tokens=_INT, output_tokens=_INT, cached_input_tokens=_INT, tokens_estimated=_BOOL,
    input_cost=_NUM, output_cost=_NUM, total_cost=_NUM, cost_known=_BOOL, price_source=_STR,
    latency_ms=_NUM, status=_STR, error_type=_STR, error_message=_STR, attributes=_MAP,
    pii_masked=_MAP, received_at=_STR, raw_partition=_INT, raw_offset=_INT,
)
SCORES = _spec(
    "scores", "score_id", "trace_start_time", {"trace_start_time", "judged_at"},
    project_id=_STR, trace_start_time=_STR, score_id=_STR, trace_id=_STR, event_id=_STR,
    app=_STR, environment=_STR, model=_STR, prompt_template_id=_STR,
    prompt_template_version=_STR, evaluator=_STR, evaluator_version=_STR,
    score=(int, float, type(None)), label=_STR, rationale=_STR, error=_STR,
    sample_reason=_STR, judge_model=_STR, judge_cost=_NUM, judge_latency_ms=_NUM,
    judge_input_tokens=_INT, judge_output_tokens=_INT, judged_at=_STR,
)
JUDGE_SAMPLING = _spec(
    "judge_sampling", "summary_id", "minute", {"minute"},
    project_id=_STR, minute=_STR, summary_id=_STR, app=_STR, environment=_STR, model=_STR,
    prompt_template_version=_STR, eligible=_INT, judged=_INT, judged_by_rule=_INT,
    skipped_budget=_INT,
)
SPANS = _spec(
    "spans", "span_uid", "start_time", {"start_time", "end_time"},
    project_id=_STR, start_time=_STR, span_uid=_STR, trace_id=_STR, span_id=_STR,
    parent_span_id=_STR, name=_STR, kind=_STR, app=_STR, environment=_STR, end_time=_STR,
    duration_ms=_NUM, status=_STR, status_message=_STR, attributes=_MAP,
)
CALL_LOGS = _spec(
    "call_logs", "log_uid", "time", {"time"},
    project_id=_STR, time=_STR, log_uid=_STR, trace_id=_STR, span_id=_STR, event_id=_STR,
    seq=_INT, event_name=_STR, app=_STR, environment=_STR, prompt=_STR, completion=_STR,
    completion_tool_calls=_STR, finish_reason=_STR, tool_definitions=_STR,
)
"""Messages an OTLP app sent as log records of a call's span (vigil.ingest.otlp_logs)."""
ALERTS = _spec(
    "alerts", "alert_id", "event_time", {"event_time", "started_at"},
    project_id=_STR, event_time=_STR, alert_id=_STR, dedupe_key=_STR, status=_STR,
    severity=_STR, signal=_STR, title=_STR, summary=_STR, slice=_MAP, value=_NUM,
    baseline=_NUM, threshold=_NUM, started_at=_STR, resolved_at=_STR, links=_MAP,
)
TICKETS = _spec(
    "tickets", "version_id", "updated_at", {"updated_at", "opened_at"},
    project_id=_STR, updated_at=_STR, version_id=_STR, ticket_id=_STR, dedupe_key=_STR,
    status=_STR, signal=_STR, title=_STR, description=_STR, slice=_MAP, window_start=_STR,
    window_end=_STR, before=_MAP, after=_MAP, drift_report=_STR, examples=_STR,
    dataset_size=_INT, opened_at=_STR, reopened=_INT,
)
DRIFT_REPORTS = _spec(
    "drift_reports", "report_id", "run_at", {"run_at"},
    project_id=_STR, run_at=_STR, report_id=_STR, app=_STR, model=_STR,
    reference_start=_STR, reference_end=_STR, current_start=_STR, current_end=_STR,
    drifted_features=(list,), report=_STR, evidently_json=_STR, html_parts=_INT,
)
DRIFT_REPORT_HTML = _spec(
    "drift_report_html", "part_id", "run_at", {"run_at"},
    project_id=_STR, run_at=_STR, part_id=_STR, report_id=_STR, part=_INT, data=_STR,
)
FEEDBACK = _spec(
    "feedback", "feedback_id", "time", {"time", "received_at"},
    project_id=_STR, time=_STR, feedback_id=_STR, trace_id=_STR, kind=_STR, value=_NUM,
    comment=_STR, user_id=_STR, received_at=_STR, source_partition=_INT, source_offset=_INT,
)
PROMPT_VERSIONS = _spec(
    "prompt_versions", "version_id", "pushed_at", {"pushed_at"},
    project_id=_STR, name=_STR, version=_INT, version_id=_STR, pushed_at=_STR, kind=_STR,
    messages=_STR, template=_STR, model=_STR, params=_STR, content_hash=_STR,
    commit_message=_STR, pushed_by=_STR,
)
PROMPT_LABEL_MOVES = _spec(
    "prompt_label_moves", "move_id", "moved_at", {"moved_at"},
    project_id=_STR, name=_STR, seq=_INT, move_id=_STR, moved_at=_STR, label=_STR,
    from_version=_INT, to_version=_INT, moved_by=_STR, reason=_STR,
)
"""The prompt registry's tables: written by the read API's prompt routes through the
store owner's writer (vigil.api.prompt_registry), never by a sink."""
TRACE_COLUMNS = TRACES.columns
FEEDBACK_COLUMNS = FEEDBACK.columns
SPECS = {s.name: s for s in (TRACES, SCORES, JUDGE_SAMPLING, SPANS, CALL_LOGS, ALERTS,
                             TICKETS, DRIFT_REPORTS, DRIFT_REPORT_HTML, FEEDBACK)}
"""Every table the sink writes, by name."""


def table_line(spec: TableSpec, line: bytes, record: dict[str, Any]) -> Line:
    """Check one record against the table's columns; raise PayloadError if it is off."""
    for column, types in spec.types.items():
        if column in spec.optional and column not in record:
            continue  # ClickHouse fills the column's default
        value = record.get(column)
        if not isinstance(value, types) or (types is _INT and isinstance(value, bool)):
            raise PayloadError(f"{spec.name} field {column!r} is missing or not "
                               f"{'/'.join(t.__name__ for t in types)}: {value!r:.80}")
    for column in spec.time_columns:
        try:
            datetime.fromisoformat(record[column])
        except ValueError as exc:
            raise PayloadError(f"{column} is not an ISO time: {record[column]!r:.80}") from exc
    if not record[spec.id_column]:
        raise PayloadError(f"{spec.id_column} is empty")
    return Line(line, record["project_id"], record[spec.id_column], record[spec.time_column])


def trace_line(line: bytes, record: dict[str, Any]) -> Line:
    return table_line(TRACES, line, record)


def feedback_line(f: FeedbackEvent, partition: int, offset: int) -> Line:
    """One feedback event as the JSON line of its `feedback` row."""
    record = {"project_id": f.project_id, "time": f.time.isoformat(),
              "feedback_id": f.feedback_id, "trace_id": f.trace_id, "kind": f.kind,
              "value": float(f.value), "comment": f.comment, "user_id": f.user_id,
              "received_at": (f.received_at or f.time).isoformat(),
              "source_partition": partition, "source_offset": offset}
    return table_line(FEEDBACK, orjson.dumps(record), record)


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
