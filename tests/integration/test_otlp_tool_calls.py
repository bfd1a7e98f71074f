"""Tool-calling conversations recorded from the real instrumentation libraries (openlit,
openai-v2, OpenInference, OpenLLMetry; tests/otlp_recordings.py), replayed over OTLP/HTTP
(protobuf, gzip) and OTLP/gRPC to a running Vigil: the read API shows each call's
messages with their tool calls and tool results, its tool definitions, parameters and
finish reason, each call once; the fine-tuning shape of the conversation is the chat
format with tool calls."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import KEY_A, Broker, Stack, wait_until
from tests.otlp_recordings import replay

pytestmark = pytest.mark.integration
AUTH = {"authorization": f"Bearer {KEY_A}"}
TOOL_CALL = {"id": "call_w1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
RESULT = '{"temp_c": 21, "sky": "sunny"}'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("otlp_tools"), broker.bootstrap)
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


def send_http(stack: Stack, request: ExportTraceServiceRequest) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces",
        content=gzip.compress(request.SerializeToString()), timeout=30,
        headers={**AUTH, "content-type": "application/x-protobuf", "content-encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert ExportTraceServiceResponse.FromString(response.content).partial_success \
        .rejected_spans == 0


def send_grpc(stack: Stack, request: ExportTraceServiceRequest) -> None:
    with grpc.insecure_channel(stack.target) as channel:
        response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request, metadata=list(AUTH.items()), timeout=30)
    assert response.partial_success.rejected_spans == 0


def stored_call(stack: Stack, trace_id: str) -> dict[str, Any]:
    trace = wait_until(lambda: stack.get(f"/v1/traces/{trace_id}"), 90, f"trace {trace_id}")
    [call] = trace["calls"]
    return call  # type: ignore[no-any-return]


@pytest.mark.parametrize(("library", "transport"), [
    ("openlit", "http"), ("openai-v2", "grpc"), ("openinference", "http"),
    ("openllmetry", "grpc")])
def test_a_tool_calling_conversation_is_stored_whole(stack: Stack, library: str,
                                                     transport: str) -> None:
    request, _, (first_id, second_id) = replay(library)
    (send_http if transport == "http" else send_grpc)(stack, request)
    first, second = stored_call(stack, first_id), stored_call(stack, second_id)

    assert first["messages"] == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}]
    assert first["completion_tool_calls"] == [
        {"id": "call_w1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]
    assert first["finish_reason"] in ("tool_calls", "tool_call")
    params = json.loads(first["params"])
    assert (params["temperature"], params["max_tokens"], params["top_p"]) == (0, 50, 0.5)
    assert params.get("seed") == (None if library == "openllmetry" else 0)

    tail = second["messages"][-2:]
    assert tail == [{"role": "tool", "content": RESULT, "tool_call_id": "call_w1"},
                    {"role": "assistant", "content": "It is sunny in Paris, 21 C."}]
    asked = [m for m in second["messages"] if m.get("tool_calls")]
    assert asked == ([] if library == "openlit"  # openlit leaves that message out
                     else [{"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}])
    assert second["finish_reason"] == "stop"
    assert [m["role"] for m in second["messages"]].count("system") == 1
    names = [t.get("function", t).get("name") for t in first["tool_definitions"]]
    assert names == ([] if library in ("openlit", "openai-v2") else ["get_weather"])


def test_a_retried_export_is_stored_once(stack: Stack) -> None:
    request, _, ids = replay("openinference")
    send_http(stack, request)
    send_grpc(stack, request)  # the exporter's retry, over the other transport
    # a later span of the first trace: same partition (keyed by trace id), after the retry
    marker = ExportTraceServiceRequest()
    marker.CopyFrom(request)
    [span] = [s for s in marker.resource_spans[0].scope_spans[0].spans
              if s.trace_id.hex() == ids[0]]
    span.span_id = bytes.fromhex("00000000000000aa")
    send_grpc(stack, ExportTraceServiceRequest(resource_spans=[
        {"resource": marker.resource_spans[0].resource, "scope_spans": [{"spans": [span]}]}]))
    calls = wait_until(lambda: len(c := stack.get(f"/v1/traces/{ids[0]}")["calls"]) >= 2 and c,
                       90, "the marker span behind the retry")
    assert len(calls) == 2  # the original and the marker: the retry was not stored again
    assert len({c["span_id"] for c in calls}) == 2
    assert len(stack.get(f"/v1/traces/{ids[1]}")["calls"]) == 1
