"""Trace events for tests: valid ones across models, and one invalid event per rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from vigil_protos.v1 import events_pb2 as pb

MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"),
          ("anthropic", "claude-3-5-sonnet"), ("google", "gemini-1.5-flash")]


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def valid_event(i: int, now: datetime | None = None, **fields: object) -> pb.TraceEvent:
    now = now or datetime.now(UTC)
    provider, model = MODELS[i % len(MODELS)]
    start = now - timedelta(seconds=5, milliseconds=i % 1000)
    event = pb.TraceEvent(
        event_id=str(uuid.uuid4()), trace_id=uuid.uuid4().hex, span_id=uuid.uuid4().hex[:16],
        session_id=f"s{i % 37}", user_id=f"u{i % 11}", app=f"app-{i % 3}",
        environment="production", start_time=ts(start),
        end_time=ts(start + timedelta(milliseconds=200 + i % 900)), provider=provider,
        model=model, prompt=[pb.Message(role="system", content="You are helpful."),
                             pb.Message(role="user", content=f"Question number {i}?")],
        completion=f"Answer {i}.", finish_reason="stop", prompt_template_id="qa",
        prompt_template_version=f"v{i % 2 + 1}", input_tokens=100 + i, output_tokens=20 + i % 50,
        cached_input_tokens=i % 40, status=pb.TRACE_STATUS_OK, attributes={"n": str(i)},
    )
    for name, value in fields.items():
        if name == "attributes":
            event.attributes.update(value)  # type: ignore[call-overload]
        else:
            setattr(event, name, value)
    return event


def invalid_events(now: datetime | None = None) -> list[tuple[str, pb.TraceEvent]]:
    """(the field the error must name, an event broken in that field)"""
    now = now or datetime.now(UTC)
    cases: list[tuple[str, pb.TraceEvent]] = []

    def broken(field: str, i: int, mutate: object) -> None:
        event = valid_event(10_000 + i, now)
        mutate(event)  # type: ignore[operator]
        cases.append((field, event))

    broken("event_id", 0, lambda e: setattr(e, "event_id", ""))
    broken("trace_id", 1, lambda e: setattr(e, "trace_id", "  "))
    broken("app", 2, lambda e: setattr(e, "app", ""))
    broken("model", 3, lambda e: setattr(e, "model", ""))
    broken("start_time", 4, lambda e: e.ClearField("start_time"))
    broken("end_time", 5, lambda e: e.ClearField("end_time"))
    broken("end_time", 6, lambda e: e.end_time.CopyFrom(ts(now - timedelta(hours=1))))
    broken("start_time", 7, lambda e: (e.start_time.CopyFrom(ts(now + timedelta(days=2))),
                                       e.end_time.CopyFrom(ts(now + timedelta(days=2)))))
    broken("start_time", 8, lambda e: (e.start_time.CopyFrom(ts(now - timedelta(days=400))),
                                       e.end_time.CopyFrom(ts(now - timedelta(days=400)))))
    broken("status", 9, lambda e: setattr(e, "status", 42))
    broken("prompt[1].role", 10, lambda e: setattr(e.prompt[1], "role", ""))
    broken("cached_input_tokens", 11, lambda e: setattr(e, "cached_input_tokens", 10**6))
    broken("event", 12, lambda e: setattr(e, "completion", "x" * 300_000))
    broken("model", 13, lambda e: setattr(e, "model", "m" * 300))
    broken("event_id", 14, lambda e: setattr(e, "event_id", "e" * 200))
    broken("input_tokens", 15, lambda e: setattr(e, "input_tokens", 10**9))
    broken("app", 16, lambda e: setattr(e, "app", "\t"))
    broken("session_id", 17, lambda e: setattr(e, "session_id", "s" * 129))
    broken("provider", 18, lambda e: setattr(e, "provider", "p" * 257))
    broken("attributes", 19, lambda e: e.attributes.update({f"k{j}": "v" for j in range(200)}))
    return cases
