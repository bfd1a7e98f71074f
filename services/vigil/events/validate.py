"""Validation of incoming events at the ingest boundary (pure, on the protobuf types).

Each check returns the first violation as (field, reason); None means valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.settings import Settings
from vigil.v1 import events_pb2 as pb

MAX_ID_CHARS = 128
MAX_NAME_CHARS = 256
MAX_ATTRIBUTES = 128
MAX_TOKENS = 50_000_000
MAX_COMMENT_CHARS = 10_000
_TRACE_STATUSES = frozenset(pb.TraceStatus.values())
_FEEDBACK_KINDS = frozenset(pb.FeedbackKind.values()) - {pb.FEEDBACK_KIND_UNSPECIFIED}


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

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_event_bytes=settings.max_event_bytes,
                   max_future_skew=timedelta(seconds=settings.max_future_skew_s),
                   max_age=timedelta(days=settings.retention_days))


def validate_trace(event: pb.TraceEvent, limits: Limits, now: datetime) -> Violation | None:
    size = event.ByteSize()
    if size > limits.max_event_bytes:
        return Violation("event", f"is {size} bytes, the limit is {limits.max_event_bytes}")
    for name, limit in (("event_id", MAX_ID_CHARS), ("trace_id", MAX_ID_CHARS),
                        ("app", MAX_NAME_CHARS), ("model", MAX_NAME_CHARS)):
        if problem := _required_text(getattr(event, name), limit):
            return Violation(name, problem)
    for name in ("span_id", "parent_span_id", "session_id", "user_id"):
        if len(getattr(event, name)) > MAX_ID_CHARS:
            return Violation(name, f"is longer than {MAX_ID_CHARS} characters")
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


def _times(event: pb.TraceEvent, limits: Limits, now: datetime) -> Violation | None:
    if not event.HasField("start_time"):
        return Violation("start_time", "is required")
    if not event.HasField("end_time"):
        return Violation("end_time", "is required")
    start, end = event.start_time, event.end_time
    if (end.seconds, end.nanos) < (start.seconds, start.nanos):
        return Violation("end_time", "is before start_time")
    start_dt = datetime.fromtimestamp(start.seconds, UTC)
    if start_dt > now + limits.max_future_skew:
        return Violation("start_time", "is in the future (check the client clock)")
    if start_dt < now - limits.max_age:
        return Violation("start_time", "is older than the retention period")
    return None


def _tokens(event: pb.TraceEvent) -> Violation | None:
    for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        if event.HasField(name) and getattr(event, name) > MAX_TOKENS:
            return Violation(name, f"is larger than {MAX_TOKENS}")
    if (event.HasField("cached_input_tokens") and event.HasField("input_tokens")
            and event.cached_input_tokens > event.input_tokens):
        return Violation("cached_input_tokens", "is larger than input_tokens")
    return None


def validate_feedback(feedback: pb.FeedbackEvent) -> Violation | None:
    if problem := _required_text(feedback.trace_id, MAX_ID_CHARS):
        return Violation("trace_id", problem)
    if len(feedback.feedback_id) > MAX_ID_CHARS:
        return Violation("feedback_id", f"is longer than {MAX_ID_CHARS} characters")
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
    if len(feedback.user_id) > MAX_ID_CHARS:
        return Violation("user_id", f"is longer than {MAX_ID_CHARS} characters")
    return None
