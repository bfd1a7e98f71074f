"""Queued items -> wire messages (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from vigil_protos.v1 import events_pb2 as pb
from vigil_sdk.build import SDK_TAG, feedback_event, messages, timestamp, trace_event
from vigil_sdk.items import PendingFeedback, PendingTrace


def pending(**fields: Any) -> PendingTrace:
    base: dict[str, Any] = dict.fromkeys(PendingTrace._fields, "")
    base.update(event_id="e1", trace_id="t1", model="gpt-4o", prompt=None, completion=None,
                start=None, end=1_700_000_000.25, input_tokens=None, output_tokens=None,
                cached_input_tokens=None, status=None, params=None, attributes=None)
    base.update(fields)
    return PendingTrace(**base)


def test_a_full_trace_maps_every_field() -> None:
    start = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    event = trace_event(pending(
        provider="openai", prompt=({"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": "Hi", "name": "bob"}),
        completion="Hello", start=start, end=start + timedelta(seconds=1.5),
        input_tokens=12, output_tokens=3, cached_input_tokens=4, finish_reason="stop",
        span_id="s", parent_span_id="p", session_id="sess", user_id="u",
        prompt_template_id="greet", prompt_template_version="v2",
        params={"temperature": 0.2, "max_tokens": 100, "stop": "END", "seed": 7,
                "response_format": {"type": "json_object"}, "logprobs": True, "tools": [1]},
        attributes={"region": "eu", "turn": 3},
    ), "bot", "staging")
    assert (event.app, event.environment, event.model, event.provider) == (
        "bot", "staging", "gpt-4o", "openai")
    assert [(m.role, m.content, m.name) for m in event.prompt] == [
        ("system", "Be brief.", ""), ("user", "Hi", "bob")]
    assert event.start_time.ToDatetime(UTC) == start
    assert event.end_time.ToDatetime(UTC) == start + timedelta(seconds=1.5)
    assert (event.input_tokens, event.output_tokens, event.cached_input_tokens) == (12, 3, 4)
    assert event.status == pb.TRACE_STATUS_OK
    assert event.params.temperature == pytest.approx(0.2)
    assert (event.params.max_tokens, list(event.params.stop), event.params.seed) == (
        100, ["END"], 7)
    assert event.params.response_format == "json_object"
    assert dict(event.attributes) == {"region": "eu", "turn": "3", "param.logprobs": "True",
                                      "sdk": SDK_TAG}
    assert (event.span_id, event.parent_span_id, event.session_id, event.user_id) == (
        "s", "p", "sess", "u")
    assert (event.prompt_template_id, event.prompt_template_version) == ("greet", "v2")


def test_unset_tokens_stay_unset_and_start_defaults_to_end() -> None:
    event = trace_event(pending(), "a", "production")
    assert not event.HasField("input_tokens") and not event.HasField("output_tokens")
    assert event.start_time == event.end_time
    assert event.end_time.seconds == 1_700_000_000 and event.end_time.nanos == 250_000_000


@pytest.mark.parametrize(("fields", "status"), [
    ({}, pb.TRACE_STATUS_OK), ({"error_type": "Timeout"}, pb.TRACE_STATUS_ERROR),
    ({"status": "ERROR"}, pb.TRACE_STATUS_ERROR), ({"status": pb.TRACE_STATUS_OK}, 1),
])
def test_status(fields: dict[str, Any], status: int) -> None:
    assert trace_event(pending(**fields), "a", "p").status == status


def test_times_naive_datetimes_are_utc() -> None:
    naive = datetime(2025, 5, 1, 12, 0, 0)
    aware = datetime(2025, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(naive) == timestamp(aware) == timestamp(naive.replace(tzinfo=UTC)
                                                              .timestamp())


def test_prompt_shapes() -> None:
    assert [(m.role, m.content) for m in messages("hello")] == [("user", "hello")]
    parts = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                          {"type": "image_url", "image_url": {"url": "x"}}]}]
    assert messages(parts)[0].content == "look\n[image_url]"
    obj = SimpleNamespace(role="assistant", content=None, name=None, tool_calls=[
        SimpleNamespace(function=SimpleNamespace(name="lookup"))])
    assert messages([obj])[0].content == "[tool calls: lookup]"
    assert messages(None) == []


@pytest.mark.parametrize(("kind", "value", "expected_kind", "expected_value"), [
    ("thumbs", True, pb.FEEDBACK_KIND_THUMBS, 1.0), ("thumbs", 0, pb.FEEDBACK_KIND_THUMBS, 0.0),
    ("score", 0.75, pb.FEEDBACK_KIND_SCORE, 0.75), ("text", None, pb.FEEDBACK_KIND_TEXT, 0.0),
    (pb.FEEDBACK_KIND_SCORE, 1, pb.FEEDBACK_KIND_SCORE, 1.0),
])
def test_feedback(kind: Any, value: Any, expected_kind: int, expected_value: float) -> None:
    event = feedback_event(PendingFeedback("f1", "t1", kind, value, "nice", "u1", 1_700_000_000))
    assert (event.feedback_id, event.trace_id, event.comment, event.user_id) == (
        "f1", "t1", "nice", "u1")
    assert (event.kind, event.value) == (expected_kind, expected_value)
    assert event.time.seconds == 1_700_000_000


def test_thumbs_accept_up_and_down() -> None:
    up = feedback_event(PendingFeedback("f", "t", "thumbs", "up", "", "", 0))
    down = feedback_event(PendingFeedback("f", "t", "thumbs", "down", "", "", 0))
    assert (up.value, down.value) == (1.0, 0.0)
