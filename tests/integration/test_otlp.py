"""GenAI spans sent by the OpenTelemetry SDK's own OTLP exporters (gRPC and HTTP) to a
running Vigil end up as trace rows with model, tokens, cost, prompt and completion."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from genai_prices import Usage, calc_price
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from tests.conftest import KEY_A, Broker, Stack, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("otlp"), broker.bootstrap)
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


def _send_spans(exporter: SpanExporter, style: str) -> dict[str, str]:
    provider = TracerProvider(resource=Resource.create(
        {"service.name": f"otel-{style}-app", "deployment.environment.name": "staging"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    ids = {}
    with tracer.start_as_current_span("agent run") as parent:  # not an LLM call
        ids["parent"] = format(parent.get_span_context().span_id, "016x")
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            _genai_attributes(span, style)
            ids["llm"] = format(span.get_span_context().span_id, "016x")
            ids["trace"] = format(span.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("chat broken") as failed:
            failed.set_attribute("gen_ai.operation.name", "chat")  # an LLM span without a model
    provider.shutdown()
    return ids


def _genai_attributes(span, style: str) -> None:  # type: ignore[no-untyped-def]
    if style == "current":  # current semantic conventions: JSON messages
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", 1200)
        span.set_attribute("gen_ai.usage.output_tokens", 300)
        span.set_attribute("gen_ai.input.messages", json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "What is OTLP?"}]}]))
        span.set_attribute("gen_ai.output.messages", json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "A protocol."}],
              "finish_reason": "stop"}]))
    else:  # older names, indexed prompt attributes (OpenLLMetry style)
        span.set_attribute("gen_ai.system", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.prompt_tokens", 1200)
        span.set_attribute("gen_ai.usage.completion_tokens", 300)
        span.set_attribute("gen_ai.prompt.0.role", "user")
        span.set_attribute("gen_ai.prompt.0.content", "What is OTLP?")
        span.set_attribute("gen_ai.completion.0.content", "A protocol.")
    span.set_attribute("session.id", "sess-1")
    span.set_status(Status(StatusCode.OK))


@pytest.mark.parametrize(("transport", "style"), [("grpc", "current"), ("http", "legacy")])
def test_genai_spans_from_the_otel_exporters_are_stored(stack: Stack, transport: str,
                                                        style: str) -> None:
    headers = {"authorization": f"Bearer {KEY_A}"}
    exporter: SpanExporter = (
        GrpcExporter(endpoint=f"http://{stack.target}", insecure=True, headers=headers)
        if transport == "grpc" else
        HttpExporter(endpoint=f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces",
                     headers=headers))
    ids = _send_spans(exporter, style)

    trace = wait_until(lambda: stack.get(f"/v1/traces/{ids['trace']}"), 90, "the LLM span")
    [call] = trace["calls"]  # the parent is a span, not an LLM call; the broken one is rejected
    expected = float(calc_price(Usage(input_tokens=1200, output_tokens=300),
                                model_ref="gpt-4o-mini", provider_id="openai").total_price)
    assert call["span_id"] == ids["llm"] and call["parent_span_id"] == ids["parent"]
    assert (call["provider"], call["model"]) == ("openai", "gpt-4o-mini")
    assert (call["input_tokens"], call["output_tokens"]) == (1200, 300)
    assert call["total_cost"] == pytest.approx(expected, rel=1e-9)
    assert json.loads(call["prompt"]) == [{"role": "user", "content": "What is OTLP?",
                                           "name": ""}]
    assert call["completion"] == "A protocol."
    assert (call["app"], call["environment"]) == (f"otel-{style}-app", "staging")
    assert call["session_id"] == "sess-1" and call["status"] == "ok"
    [parent] = wait_until(lambda: stack.get(f"/v1/traces/{ids['trace']}")["spans"], 60,
                          "the parent span kept for the trace tree")
    assert (parent["span_id"], parent["name"]) == (ids["parent"], "agent run")


def test_otlp_http_partial_success_auth_and_bad_bodies(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces"
    auth = {"authorization": f"Bearer {KEY_A}"}
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-app"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat", "startTimeUnixNano": "1", "endTimeUnixNano": "2",
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        }]}]}]}
    response = httpx.post(url, json=body, headers=auth, timeout=30)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "model" in partial["errorMessage"]

    assert httpx.post(url, json=body, timeout=30).status_code == 401
    assert httpx.post(url, content=b"{nope", headers={**auth, "content-type":
                      "application/json"}, timeout=30).status_code == 400
    assert httpx.post(url, content=b"x", headers={**auth, "content-type": "text/plain"},
                      timeout=30).status_code == 415


def _llm_span(span_id: str, trace_id: str, **attributes: str) -> Span:
    now = time.time_ns()
    return Span(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id), name="chat",
                start_time_unix_nano=now - 10**9, end_time_unix_nano=now, attributes=[
                    KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in
                    {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai",
                     **attributes}.items()])


def test_a_span_with_deep_json_is_rejected_and_its_neighbour_stored(stack: Stack) -> None:
    trace_id = uuid.uuid4().hex
    deep = "[" * 100_000 + "]" * 100_000
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(
        spans=[_llm_span("00000000000000d1", trace_id, **{"gen_ai.input.messages": deep}),
               _llm_span("00000000000000d2", trace_id)])])])
    response = httpx.post(f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces",
                          content=request.SerializeToString(), timeout=30, headers={
                              "authorization": f"Bearer {KEY_A}",
                              "content-type": "application/x-protobuf"})
    assert response.status_code == 200, response.text
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1
    assert partial.error_message.startswith("span 00000000000000d1: gen_ai.input.messages ")
    calls = wait_until(lambda: stack.get(f"/v1/traces/{trace_id}")["calls"], 90,
                       "the good span of the request")
    assert [c["span_id"] for c in calls] == ["00000000000000d2"]


@pytest.mark.parametrize(("headers", "body", "says"), [
    ({"content-encoding": "gzip", "content-type": "application/x-protobuf"},
     b"\x0a\x00 not gzip", "Content-Encoding (gzip)"),
    ({"content-encoding": "deflate", "content-type": "application/x-protobuf"},
     b"not deflate", "Content-Encoding (deflate)"),
    ({"content-type": "application/json"},
     b'{"resourceSpans": ' + b"[" * 900 + b"]" * 900 + b"}", "deeper than the limit"),
], ids=["lying-gzip", "lying-deflate", "json-900-deep"])
def test_bodies_that_cannot_be_decoded_are_400(stack: Stack, headers: dict[str, str],
                                               body: bytes, says: str) -> None:
    response = httpx.post(f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces", content=body,
                          headers={"authorization": f"Bearer {KEY_A}", **headers}, timeout=30)
    assert response.status_code == 400, response.text
    assert says in response.json()["message"]
