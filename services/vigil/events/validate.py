"""Validation of incoming events at the ingest boundary (pure, on the protobuf types and
OTLP spans; the time is an argument, never the clock).

Each check returns the first violation as (field, reason); None means valid. Every
timestamp lies within [earliest, now + max_future_skew] with nanos in 0..999,999,999; a
call's end is not before its start nor more than max_duration after it; ids are of
bounded length without control characters (OTLP: 16-byte trace ids, 8-byte span ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from vigil.settings import EARLIEST_TIMESTAMP, MAX_CALL_DURATION_S, MAX_JSON_DEPTH, Settings
from vigil_protos.v1 import events_pb2 as pb

MAX_ID_CHARS = 128
MAX_NAME_CHARS = 256
MAX_ATTRIBUTES = 128
MAX_TOKENS = 50_000_000
MAX_COMMENT_CHARS = 10_000
_TRACE_STATUSES = frozenset(pb.TraceStatus.values())
_FEEDBACK_KINDS = frozenset(pb.FeedbackKind.values()) - {pb.FEEDBACK_KIND_UNSPECIFIED}
MAX_NANOS = 999_999_999
OTLP_ID_BYTES = (("trace_id", 16), ("span_id", 8), ("parent_span_id", 8))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Limits:
    max_event_bytes: int
    max_future_skew: timedelta
    max_age: timedelta
    earliest: datetime = EARLIEST_TIMESTAMP
    max_duration: timedelta = timedelta(seconds=MAX_CALL_DURATION_S)
    max_json_depth: int = MAX_JSON_DEPTH

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_event_bytes=settings.max_event_bytes,
                   max_future_skew=timedelta(seconds=settings.max_future_skew_s),
                   max_age=timedelta(days=settings.retention_days),
                   earliest=settings.earliest_timestamp,
                   max_duration=timedelta(seconds=settings.max_call_duration_s),
                   max_json_depth=settings.max_json_depth)


def validate_trace(event: pb.TraceEvent, limits: Limits, now: datetime) -> Violation | None:
    size = event.ByteSize()
    if size > limits.max_event_bytes:
        return Violation("event", f"is {size} bytes, the limit is {limits.max_event_bytes}")
    for name, limit in (("event_id", MAX_ID_CHARS), ("trace_id", MAX_ID_CHARS),
                        ("app", MAX_NAME_CHARS), ("model", MAX_NAME_CHARS)):
        if problem := _required_text(getattr(event, name), limit):
            return Violation(name, problem)
    for name in ("event_id", "trace_id", "span_id", "parent_span_id", "session_id",
                 "user_id"):
        if problem := _id_text(getattr(event, name)):
            return Violation(name, problem)
    for name in ("environment", "provider", "prompt_template_id", "prompt_template_version"):
        if len(getattr(event, name)) > MAX_NAME_CHARS:
            return Violation(name, f"is longer than {MAX_NAME_CHARS} characters")
    if problem := _times(event, limits, now):
        return problem
    if event.status not in _TRACE_STATUSES:
        return Violation("status", f"unknown value {event.status}")
    for i, message in enumerate(event.prompt):
        if not message.role:
            return Violation(f"prompt[{i}].role", "is required")
    if len(event.attributes) > MAX_ATTRIBUTES:
        return Violation("attributes", f"has more than {MAX_ATTRIBUTES} entries")
    return _tokens(event)


def _required_text(value: str, limit: int) -> str | None:
    if not value.strip():
        return "is required"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    return None


def _id_text(value: str) -> str | None:
    """An optional id: at most MAX_ID_CHARS printable characters."""
    if len(value) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    if not value.isprintable():
        return "has control or other non-printable characters"
    return None


def _times(event: pb.TraceEvent, limits: Limits, now: datetime) -> Violation | None:
    for name in ("start_time", "end_time"):
        if not event.HasField(name):
            return Violation(name, "is required")
        if problem := check_timestamp(name, getattr(event, name), limits, now):
            return problem
    return _call_interval(("start_time", _unix_nanos(event.start_time)),
                          ("end_time", _unix_nanos(event.end_time)), limits, now)


def check_timestamp(name: str, stamp: Timestamp, limits: Limits, now: datetime
                    ) -> Violation | None:
    """A protobuf timestamp: nanos in range and the moment inside the accepted window."""
    if not 0 <= stamp.nanos <= MAX_NANOS:
        return Violation(name, f"has nanos {stamp.nanos}, they must be within 0..{MAX_NANOS}")
    return _in_window(name, _unix_nanos(stamp), limits, now)


def _in_window(name: str, unix_nanos: int, limits: Limits, now: datetime) -> Violation | None:
    """Compared as integers: seconds of +-2**62 have no datetime."""
    if unix_nanos < _nanos_since_epoch(limits.earliest):
        return Violation(name, f"is before {limits.earliest.isoformat()}, the earliest "
                         "accepted time")
    if unix_nanos > _nanos_since_epoch(now + limits.max_future_skew):
        return Violation(name, f"is more than {limits.max_future_skew.total_seconds():g} s "
                         "ahead of the server's clock (check the client clock)")
    return None


def _call_interval(start: tuple[str, int], end: tuple[str, int], limits: Limits,
                   now: datetime) -> Violation | None:
    """(name, unix nanos) of a call's start and end, each inside the window already: the
    end not before the start nor past the longest call, the start within the retention."""
    (start_name, start_ns), (end_name, end_ns) = start, end
    if end_ns < start_ns:
        return Violation(end_name, f"is before {start_name}")
    longest = limits.max_duration.total_seconds()
    if end_ns - start_ns > longest * 1e9:
        return Violation(end_name, f"is {(end_ns - start_ns) / 1e9:g} s after {start_name}, "
                         f"a call lasts at most {longest:g} s")
    if start_ns < _nanos_since_epoch(now - limits.max_age):
        return Violation(start_name, "is older than the retention period")
    return None


def _unix_nanos(stamp: Timestamp) -> int:
    return stamp.seconds * 1_000_000_000 + stamp.nanos


def _nanos_since_epoch(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def validate_span_times(span: Span, limits: Limits, now: datetime) -> Violation | None:
    """An OTLP span's start and end, with the rules of a call's."""
    for name in ("start_time_unix_nano", "end_time_unix_nano"):
        if problem := _in_window(name, getattr(span, name), limits, now):
            return problem
    return _call_interval(("start_time_unix_nano", span.start_time_unix_nano),
                          ("end_time_unix_nano", span.end_time_unix_nano), limits, now)


def validate_span_ids(span: Span) -> Violation | None:
    """OTLP's sizes: a 16-byte trace id, 8-byte span ids (the parent's may be absent)."""
    for name, size in OTLP_ID_BYTES:
        value: bytes = getattr(span, name)
        if name == "parent_span_id" and not value:
            continue
        if len(value) != size:
            return Violation(name, f"is {len(value)} bytes, it must be {size}")
        if not any(value):
            return Violation(name, "is all zeros, which OTLP defines as invalid")
    return None


def json_too_deep(doc: Any, limit: int) -> bool:
    """Whether parsed JSON nests arrays and objects more than `limit` levels deep (the
    recursion stops at `limit`, so any document is safe to check)."""
    if not isinstance(doc, dict | list):
        return False
    if limit <= 0:
        return True
    return any(json_too_deep(child, limit - 1)
               for child in (doc.values() if isinstance(doc, dict) else doc))


def _tokens(event: pb.TraceEvent) -> Violation | None:
    for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        if event.HasField(name) and getattr(event, name) > MAX_TOKENS:
            return Violation(name, f"is larger than {MAX_TOKENS}")
    if (event.HasField("cached_input_tokens") and event.HasField("input_tokens")
            and event.cached_input_tokens > event.input_tokens):
        return Violation("cached_input_tokens", "is larger than input_tokens")
    return None


def validate_feedback(feedback: pb.FeedbackEvent, limits: Limits, now: datetime
                      ) -> Violation | None:
    if problem := _required_text(feedback.trace_id, MAX_ID_CHARS) or _id_text(
            feedback.trace_id):
        return Violation("trace_id", problem)
    for name in ("feedback_id", "user_id"):
        if problem := _id_text(getattr(feedback, name)):
            return Violation(name, problem)
    if feedback.HasField("time") and (
            late := check_timestamp("time", feedback.time, limits, now)):
        return late
    if feedback.kind not in _FEEDBACK_KINDS:
        return Violation("kind", "must be THUMBS, SCORE or TEXT")
    if feedback.kind == pb.FEEDBACK_KIND_THUMBS and feedback.value not in (0.0, 1.0):
        return Violation("value", "must be 1 (thumbs up) or 0 (thumbs down)")
    if feedback.kind == pb.FEEDBACK_KIND_SCORE and not 0.0 <= feedback.value <= 1.0:
        return Violation("value", "must be between 0 and 1")
    if feedback.kind == pb.FEEDBACK_KIND_TEXT and not feedback.comment.strip():
        return Violation("comment", "is required for TEXT feedback")
    if len(feedback.comment) > MAX_COMMENT_CHARS:
        return Violation("comment", f"is longer than {MAX_COMMENT_CHARS} characters")
    return None
