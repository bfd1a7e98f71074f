"""Validation rules at the ingest boundary, one row per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import invalid_events, ts, valid_event
from vigil.events.validate import Limits, validate_feedback, validate_trace
from vigil.v1 import events_pb2 as pb

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
    violation = validate_feedback(feedback)
    assert (violation.field if violation else None) == field
