"""Validation rules at the ingest boundary, one row per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.factories import invalid_events, ts, valid_event
from vigil.events.validate import (
    Limits,
    json_too_deep,
    validate_feedback,
    validate_span_ids,
    validate_span_times,
    validate_trace,
)
from vigil_protos.v1 import events_pb2 as pb

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_event_bytes=256 * 1024, max_future_skew=timedelta(hours=1),
                max_age=timedelta(days=90))


@pytest.mark.parametrize(("field", "event"), invalid_events(NOW),
                         ids=[f"{i}-{f}" for i, (f, _) in enumerate(invalid_events(NOW))])
def test_each_invalid_event_names_its_field(field: str, event: pb.TraceEvent) -> None:
    violation = validate_trace(event, LIMITS, NOW)
    assert violation is not None
    assert violation.field == field
    assert violation.reason


@pytest.mark.parametrize("mutate", [
    lambda e: None,
    lambda e: e.ClearField("input_tokens"),  # tokens may be left for the server to estimate
    lambda e: setattr(e, "completion", ""),
    lambda e: setattr(e, "completion", "答案是 42 🙂 مرحبا"),
    lambda e: setattr(e, "status", pb.TRACE_STATUS_UNSPECIFIED),
    lambda e: setattr(e, "app", "ä" * 256),
    lambda e: e.end_time.CopyFrom(e.start_time),  # zero latency
    lambda e: setattr(e, "completion", "x" * 200_000),
], ids=["plain", "no-tokens", "empty-completion", "unicode", "unspecified-status",
        "unicode-256-chars", "zero-latency", "200KB"])
def test_valid_events_pass(mutate: object) -> None:
    event = valid_event(1, NOW)
    mutate(event)  # type: ignore[operator]
    assert validate_trace(event, LIMITS, NOW) is None


def test_future_skew_within_limit_is_accepted() -> None:
    soon = NOW + timedelta(minutes=30)
    event = valid_event(1, NOW)
    event.start_time.CopyFrom(ts(soon))
    event.end_time.CopyFrom(ts(soon))
    assert validate_trace(event, LIMITS, NOW) is None


def test_size_limit_reports_size_and_limit() -> None:
    event = valid_event(1, NOW, completion="y" * 300_000)
    violation = validate_trace(event, LIMITS, NOW)
    assert violation is not None and "262144" in violation.reason


@pytest.mark.parametrize(("feedback", "field"), [
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_THUMBS, value=1), None),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_SCORE, value=0.4), None),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_TEXT, comment="très bien 👍"), None),
    (pb.FeedbackEvent(kind=pb.FEEDBACK_KIND_THUMBS, value=1), "trace_id"),
    (pb.FeedbackEvent(trace_id="t", value=1), "kind"),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_THUMBS, value=0.5), "value"),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_SCORE, value=1.5), "value"),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_SCORE, value=float("nan")), "value"),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_TEXT, comment=" "), "comment"),
    (pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_TEXT, comment="c" * 10_001),
     "comment"),
    (pb.FeedbackEvent(trace_id="t", kind=7, value=1), "kind"),
])
def test_feedback_rules(feedback: pb.FeedbackEvent, field: str | None) -> None:
    violation = validate_feedback(feedback, LIMITS, NOW)
    assert (violation.field if violation else None) == field


def _stamp(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


NOW_S = int(NOW.timestamp())
YEAR_9999 = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(("start", "end", "field", "reason"), [
    (_stamp(NOW_S - 5), _stamp(YEAR_9999), "end_time", "ahead of the server's clock"),
    (_stamp(NOW_S - 5, 1_999_999_999), _stamp(NOW_S), "start_time", "nanos"),
    (_stamp(NOW_S - 5), _stamp(NOW_S, -5), "end_time", "nanos"),
    (_stamp(2**62), _stamp(2**62), "start_time", "ahead of the server's clock"),
    (_stamp(-2**62), _stamp(NOW_S), "start_time", "before 2000-01-01"),
    (_stamp(NOW_S - 5), _stamp(-2**62), "end_time", "before 2000-01-01"),
    (_stamp(NOW_S - 2 * 86_400), _stamp(NOW_S), "end_time", "at most 86400 s"),
    (_stamp(NOW_S), _stamp(NOW_S - 1), "end_time", "before start_time"),
    (_stamp(NOW_S + 3601), _stamp(NOW_S + 3601), "start_time", "3600 s ahead"),
], ids=["end-in-year-9999", "nanos-too-large", "nanos-negative", "seconds-2^62",
        "seconds-minus-2^62", "end-minus-2^62", "longer-than-a-day", "end-before-start",
        "start-past-the-skew"])
def test_timestamps_outside_the_window_name_their_field(
        start: Timestamp, end: Timestamp, field: str, reason: str) -> None:
    event = valid_event(1, NOW)
    event.start_time.CopyFrom(start)
    event.end_time.CopyFrom(end)
    violation = validate_trace(event, LIMITS, NOW)
    assert violation is not None and violation.field == field
    assert reason in violation.reason


@pytest.mark.parametrize(("start", "end"), [
    (_stamp(NOW_S - 86_400), _stamp(NOW_S)),  # exactly the longest call
    (_stamp(NOW_S + 3600), _stamp(NOW_S + 3600)),  # exactly the skew
    (_stamp(NOW_S - 1, 999_999_999), _stamp(NOW_S)),
], ids=["one-day-call", "at-the-skew", "largest-nanos"])
def test_timestamps_at_the_edges_of_the_window_pass(start: Timestamp, end: Timestamp) -> None:
    event = valid_event(1, NOW)
    event.start_time.CopyFrom(start)
    event.end_time.CopyFrom(end)
    assert validate_trace(event, LIMITS, NOW) is None


def test_the_window_and_the_longest_call_come_from_the_limits() -> None:
    limits = Limits(max_event_bytes=256 * 1024, max_future_skew=timedelta(hours=1),
                    max_age=timedelta(days=90), max_duration=timedelta(minutes=1))
    event = valid_event(1, NOW)
    event.start_time.CopyFrom(_stamp(NOW_S - 100))
    event.end_time.CopyFrom(_stamp(NOW_S - 39))
    violation = validate_trace(event, limits, NOW)
    assert violation is not None and (violation.field, violation.reason) == \
        ("end_time", "is 61 s after start_time, a call lasts at most 60 s")


@pytest.mark.parametrize("field", ["event_id", "trace_id", "span_id", "parent_span_id",
                                   "session_id", "user_id"])
def test_ids_with_control_characters_are_refused(field: str) -> None:
    event = valid_event(1, NOW, **{field: "abc\x00def"})
    violation = validate_trace(event, LIMITS, NOW)
    assert violation is not None and violation.field == field


def _feedback(**fields: object) -> pb.FeedbackEvent:
    return pb.FeedbackEvent(trace_id="t", kind=pb.FEEDBACK_KIND_THUMBS, value=1, **fields)


@pytest.mark.parametrize(("feedback", "field"), [
    (_feedback(time=_stamp(NOW_S)), None),
    (_feedback(time=_stamp(2**62)), "time"),
    (_feedback(time=_stamp(-2**62)), "time"),
    (_feedback(time=_stamp(NOW_S, -5)), "time"),
    (_feedback(time=_stamp(NOW_S, 1_000_000_000)), "time"),
    (_feedback(time=_stamp(int(datetime(1999, 12, 31, tzinfo=UTC).timestamp()))), "time"),
    (_feedback(user_id="u\n1"), "user_id"),
    (_feedback(feedback_id="f\x7f"), "feedback_id"),
], ids=["now", "2^62", "minus-2^62", "nanos-negative", "nanos-a-second", "1999",
        "user-id-newline", "feedback-id-delete"])
def test_feedback_time_and_ids(feedback: pb.FeedbackEvent, field: str | None) -> None:
    violation = validate_feedback(feedback, LIMITS, NOW)
    assert (violation.field if violation else None) == field


def _span(**fields: object) -> Span:
    start = NOW_S * 10**9 - 5 * 10**9
    values: dict[str, object] = {"trace_id": b"\x01" * 16, "span_id": b"\x02" * 8,
                                 "start_time_unix_nano": start,
                                 "end_time_unix_nano": start + 10**9, **fields}
    return Span(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("span", "field"), [
    (_span(), None),
    (_span(parent_span_id=b"\x03" * 8), None),
    (_span(trace_id=b"abc"), "trace_id"),
    (_span(trace_id=b"\x00" * 16), "trace_id"),
    (_span(span_id=b""), "span_id"),
    (_span(span_id=b"\x02" * 16), "span_id"),
    (_span(parent_span_id=b"\x03" * 4), "parent_span_id"),
], ids=["valid", "with-parent", "3-byte-trace-id", "zero-trace-id", "no-span-id",
        "16-byte-span-id", "4-byte-parent"])
def test_otlp_span_ids_have_otlp_sizes(span: Span, field: str | None) -> None:
    violation = validate_span_ids(span)
    assert (violation.field if violation else None) == field


@pytest.mark.parametrize(("start", "end", "field"), [
    (NOW_S * 10**9 - 10**9, NOW_S * 10**9, None),
    (1, 2, "start_time_unix_nano"),
    (NOW_S * 10**9, 2**64 - 1, "end_time_unix_nano"),
    (NOW_S * 10**9, NOW_S * 10**9 - 1, "end_time_unix_nano"),
    ((NOW_S - 2 * 86_400) * 10**9, NOW_S * 10**9, "end_time_unix_nano"),
], ids=["valid", "1970", "year-2554", "end-before-start", "two-days"])
def test_otlp_span_times(start: int, end: int, field: str | None) -> None:
    span = _span(start_time_unix_nano=start, end_time_unix_nano=end)
    violation = validate_span_times(span, LIMITS, NOW)
    assert (violation.field if violation else None) == field


def _nested(depth: int) -> object:
    doc: object = "leaf"
    for i in range(depth):
        doc = [doc] if i % 2 else {"k": doc}
    return doc


@pytest.mark.parametrize(("doc", "limit", "too_deep"), [
    ("text", 0, False), ([], 1, False), ([], 0, True), (_nested(64), 64, False),
    (_nested(65), 64, True), (_nested(5000), 64, True), ({"a": [1, {"b": []}]}, 4, False),
    ({"a": [1, {"b": []}]}, 3, True),
])
def test_json_depth_is_bounded_without_recursing_past_the_limit(
        doc: object, limit: int, too_deep: bool) -> None:
    assert json_too_deep(doc, limit) is too_deep
