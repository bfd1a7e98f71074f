"""OTLP span -> trace event mapping over the conventions apps use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from vigil.events.validate import Limits
from vigil.ingest.otlp import map_request
from vigil.ingest.otlp_receiver import decode_http_body
from vigil_protos.v1 import events_pb2 as pb

TRACE, SPAN = bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), bytes.fromhex("b7ad6b7169203331")
NOW = datetime.fromtimestamp(1_700_000_060, UTC)  # a minute after the spans of _span
LIMITS = Limits(max_event_bytes=256 * 1024, max_future_skew=timedelta(hours=1),
                max_age=timedelta(days=90))


def _value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[_value(x) for x in v]))
    return AnyValue(string_value=v)


def _kvs(d: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in d.items()]


def _span(attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
          error: bool = False) -> Span:
    span = Span(trace_id=TRACE, span_id=SPAN, name="s",
                start_time_unix_nano=1_700_000_000_000_000_000,
                end_time_unix_nano=1_700_000_001_500_000_000, attributes=_kvs(attrs))
    for name, ea in events:
        span.events.add(name=name, attributes=_kvs(ea))
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    return span


def _map(span: Span, resource: dict[str, Any] | None = None) -> list[pb.TraceEvent]:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": _kvs(resource or {"service.name": "svc"})},
        scope_spans=[ScopeSpans(spans=[span])])])
    return map_request(request, LIMITS, NOW).events


BASE = {"gen_ai.request.model": "gpt-4o", "gen_ai.system": "openai"}


@pytest.mark.parametrize(("attrs", "events", "prompt", "completion"), [
    ({**BASE, "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
        {"type": "text", "content": "hi"}]}]), "gen_ai.output.messages": json.dumps([
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}])},
     [], [("user", "hi")], "hello"),
    ({**BASE, "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "be nice"}]),
      "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text",
                                                                        "content": "q"}]}])},
     [], [("system", "be nice"), ("user", "q")], ""),
    ({**BASE, "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "s",
      "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "u",
      "gen_ai.completion.0.content": "c"}, [], [("system", "s"), ("user", "u")], "c"),
    ({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
      "llm.input_messages.0.message.role": "user",
      "llm.input_messages.0.message.content": "oi", "llm.output_messages.0.message.content": "ok"},
     [], [("user", "oi")], "ok"),
    (BASE, [("gen_ai.user.message", {"content": "ev-q"}),
            ("gen_ai.choice", {"message": json.dumps({"content": "ev-a"})})],
     [("user", "ev-q")], "ev-a"),
    ({"openinference.span.kind": "LLM", "llm.model_name": "m", "input.value": "in",
      "output.value": "out"}, [], [("user", "in")], "out"),
], ids=["semconv-json", "system-instructions", "indexed", "openinference", "span-events",
        "input-output-value"])
def test_messages_from_each_convention(attrs: dict[str, Any], events: list[Any],
                                       prompt: list[tuple[str, str]], completion: str) -> None:
    [event] = _map(_span(attrs, events))
    assert [(m.role, m.content) for m in event.prompt] == prompt
    assert event.completion == completion


@pytest.mark.parametrize(("attrs", "tokens"), [
    ({**BASE, "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}, (10, 5, None)),
    ({**BASE, "gen_ai.usage.prompt_tokens": 11, "gen_ai.usage.completion_tokens": 6,
      "gen_ai.usage.cache_read_input_tokens": 3}, (11, 6, 3)),
    ({"llm.model_name": "m", "llm.token_count.prompt": 7, "llm.token_count.completion": 2},
     (7, 2, None)),
    (BASE, (None, None, None)),
])
def test_token_counts_current_and_older_names(attrs: dict[str, Any],
                                              tokens: tuple[int | None, ...]) -> None:
    [e] = _map(_span(attrs))
    got = tuple(getattr(e, f) if e.HasField(f) else None
                for f in ("input_tokens", "output_tokens", "cached_input_tokens"))
    assert got == tokens


def test_ids_times_resource_and_errors() -> None:
    [e] = _map(_span({**BASE, "session.id": "s1", "user.id": "u1", "custom": "x"},
                     [("exception", {"exception.type": "RateLimitError",
                                     "exception.message": "slow down"})], error=True),
               {"service.name": "bot", "deployment.environment": "prod"})
    assert (e.trace_id, e.span_id) == (TRACE.hex(), SPAN.hex())
    assert e.event_id == f"{TRACE.hex()}-{SPAN.hex()}"
    assert (e.app, e.environment, e.session_id, e.user_id) == ("bot", "prod", "s1", "u1")
    assert (e.provider, e.model) == ("openai", "gpt-4o")
    assert e.end_time.ToNanoseconds() - e.start_time.ToNanoseconds() == 1_500_000_000
    assert e.status == pb.TRACE_STATUS_ERROR
    assert (e.error_type, e.error_message) == ("RateLimitError", "slow down")
    assert e.attributes["custom"] == "x"


def test_spans_that_are_not_llm_calls_are_skipped() -> None:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(
        spans=[_span({"http.method": "GET"}), _span(BASE)])])])
    mapped = map_request(request, LIMITS, NOW)
    assert (len(mapped.events), mapped.skipped_non_llm) == (1, 1)


def test_otlp_json_bodies_carry_hex_ids() -> None:
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": TRACE.hex(), "spanId": SPAN.hex(), "name": "x", "kind": 3}]}]}]}).encode()
    request = decode_http_body(body, "application/json")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert (span.trace_id, span.span_id) == (TRACE, SPAN)
    with pytest.raises(ValueError, match="OTLP"):
        decode_http_body(b"[1, 2", "application/json")
    with pytest.raises(ValueError, match="OTLP"):
        decode_http_body(b"\xff\xff\xff", "application/x-protobuf")


def test_spans_that_are_not_llm_calls_can_be_kept_for_the_trace_tree() -> None:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": _kvs({"service.name": "svc"})},
        scope_spans=[ScopeSpans(spans=[_span({"http.method": "GET"}), _span(BASE)])])])
    mapped = map_request(request, LIMITS, NOW, keep_other_spans=True)
    [row] = mapped.other_spans
    assert (len(mapped.events), mapped.skipped_non_llm) == (1, 0)
    assert row["span_uid"] == f"{TRACE.hex()}-{SPAN.hex()}" and row["app"] == "svc"
    assert row["attributes"] == {"http.method": "GET"} and row["duration_ms"] == 1500.0


def _request(*spans: Span) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": _kvs({"service.name": "svc"})},
        scope_spans=[ScopeSpans(spans=list(spans))])])


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("attrs", "field"), [
    ({**BASE, "gen_ai.input.messages": _deep_json(900)}, "gen_ai.input.messages"),
    ({**BASE, "gen_ai.input.messages": _deep_json(100_000)}, "gen_ai.input.messages"),
    ({**BASE, "gen_ai.output.messages": _deep_json(65)}, "gen_ai.output.messages"),
    ({**BASE, "gen_ai.system_instructions": _deep_json(70)}, "gen_ai.system_instructions"),
], ids=["900-deep", "100000-deep", "output-65-deep", "instructions-70-deep"])
def test_a_span_with_deep_json_is_rejected_and_its_neighbour_mapped(
        attrs: dict[str, Any], field: str) -> None:
    deep = _span(attrs)
    deep.span_id = bytes.fromhex("00000000000000aa")
    mapped = map_request(_request(deep, _span(BASE)), LIMITS, NOW)
    assert [e.span_id for e in mapped.events] == [SPAN.hex()]
    [reason] = mapped.rejected
    assert reason.startswith("span 00000000000000aa: ") and field in reason
    assert "deeper than 64" in reason


def test_a_choice_event_with_deep_json_is_rejected() -> None:
    span = _span(BASE, [("gen_ai.choice", {"message": _deep_json(200)})])
    mapped = map_request(_request(span), LIMITS, NOW)
    assert mapped.events == [] and "gen_ai.choice message" in mapped.rejected[0]


@pytest.mark.parametrize(("trace_id", "span_id", "field"), [
    (b"abc", SPAN, "trace_id"), (b"\x00" * 16, SPAN, "trace_id"), (TRACE, b"", "span_id"),
], ids=["3-byte-trace-id", "zero-trace-id", "no-span-id"])
@pytest.mark.parametrize("attrs", [BASE, {"http.method": "GET"}], ids=["llm", "other"])
def test_spans_with_ids_of_other_sizes_are_rejected(trace_id: bytes, span_id: bytes,
                                                    field: str, attrs: dict[str, Any]) -> None:
    span = _span(attrs)
    span.trace_id, span.span_id = trace_id, span_id
    mapped = map_request(_request(span, _span(BASE)), LIMITS, NOW, keep_other_spans=True)
    assert len(mapped.events) == 1 and mapped.other_spans == []
    [reason] = mapped.rejected
    assert f": {field} " in reason


def test_kept_spans_with_times_out_of_range_are_rejected() -> None:
    far = _span({"http.method": "GET"})
    far.end_time_unix_nano = 2**64 - 1  # the largest fixed64: the year 2554
    mapped = map_request(_request(far), LIMITS, NOW, keep_other_spans=True)
    assert mapped.other_spans == []
    assert "end_time_unix_nano is more than 3600 s ahead" in mapped.rejected[0]


@pytest.mark.parametrize("attrs", [
    {**BASE, "gen_ai.usage.input_tokens": float("inf")},
    {**BASE, "gen_ai.usage.input_tokens": 1e30},
    {**BASE, "gen_ai.usage.output_tokens": float("nan")},
    {**BASE, "gen_ai.request.max_tokens": 2**40},
], ids=["inf-tokens", "1e30-tokens", "nan-tokens", "max-tokens-2^40"])
def test_numbers_a_field_cannot_hold_are_left_out(attrs: dict[str, Any]) -> None:
    [event] = map_request(_request(_span(attrs)), LIMITS, NOW).events
    assert not event.HasField("input_tokens") and not event.HasField("output_tokens")
    assert not event.params.HasField("max_tokens")


def test_a_span_kind_this_version_does_not_know_is_unspecified() -> None:
    span = _span({"http.method": "GET"})
    span.kind = 99  # type: ignore[assignment]
    [row] = map_request(_request(span), LIMITS, NOW, keep_other_spans=True).other_spans
    assert row["kind"] == "unspecified"


@pytest.mark.parametrize("depth", [65, 600, 1000])
def test_otlp_json_bodies_nested_too_deeply_are_refused(depth: int) -> None:
    body = ('{"resourceSpans": ' + "[" * depth + "]" * depth + "}").encode()
    with pytest.raises(ValueError, match=r"OTLP.*deeper than the limit"):
        decode_http_body(body, "application/json", max_json_depth=64)
