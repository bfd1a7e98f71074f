"""Tool-calling conversations recorded from the real instrumentation libraries (openlit,
openai-v2, OpenInference, OpenLLMetry; tests/otlp_recordings.py), replayed over OTLP/HTTP
(protobuf, gzip) and OTLP/gRPC to a running Vigil: the read API shows each call's
messages with their tool calls and tool results, its tool definitions, parameters and
finish reason, each call once. The official openai-v2 instrumentation's default mode
sends the messages as OTLP log records: replayed over LogsService and `POST /v1/logs`
before or after the spans, they land on their calls; an app's `gen_ai.evaluation.result`
is a score on the call beside the judge's; unrelated application logs are dropped."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import INTERNAL_TOKEN, KEY_A, PROJECT_A, Broker, Stack, wait_until
from tests.support.otlp_recordings import replay
from tests.unit.ingest.test_otlp_mapping import _kvs

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


def send_logs_http(stack: Stack, request: ExportLogsServiceRequest, as_json: bool = False
                   ) -> ExportLogsServiceResponse:
    url = f"http://127.0.0.1:{stack.otlp_http_port}/v1/logs"
    if as_json:  # OTLP/JSON: ids in hex
        doc = json_format.MessageToDict(request)
        for resource in doc["resourceLogs"]:
            for scope in resource["scopeLogs"]:
                for record in scope["logRecords"]:
                    for key in ("traceId", "spanId"):
                        if key in record:
                            record[key] = base64.b64decode(record[key]).hex()
        response = httpx.post(url, json=doc, headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
        return json_format.ParseDict(response.json(), ExportLogsServiceResponse())
    response = httpx.post(url, content=gzip.compress(request.SerializeToString()), timeout=30,
                          headers={**AUTH, "content-type": "application/x-protobuf",
                                   "content-encoding": "gzip"})
    assert response.status_code == 200, response.text
    return ExportLogsServiceResponse.FromString(response.content)


def send_logs_grpc(stack: Stack, request: ExportLogsServiceRequest) -> ExportLogsServiceResponse:
    with grpc.insecure_channel(stack.target) as channel:
        return logs_service_pb2_grpc.LogsServiceStub(channel).Export(  # type: ignore[no-any-return]
            request, metadata=list(AUTH.items()), timeout=30)


EVENT_MODE_FIRST = [{"role": "system", "content": "You are a weather bot."},
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}]


def test_logs_that_come_after_their_spans_land_on_them(stack: Stack) -> None:
    traces, logs, (first_id, second_id) = replay("openai-v2-eventlogs", with_logs=True)
    assert logs is not None
    send_grpc(stack, traces)
    assert stored_call(stack, first_id)["messages"] == []  # the spans carry no messages
    stored_call(stack, second_id)
    response = send_logs_http(stack, logs)  # later: the call is stored already
    assert response.partial_success.rejected_log_records == 0
    first = wait_until(lambda: (c := stored_call(stack, first_id))["messages"] and c, 90,
                       "the logged messages on the first call")
    assert first["messages"] == EVENT_MODE_FIRST and first["messages_from"] == "logs"
    assert first["finish_reason"] == "tool_calls"
    second = wait_until(lambda: (c := stored_call(stack, second_id))["messages"] and c, 90,
                        "the logged messages on the second call")
    assert second["messages"][-2:] == [
        {"role": "tool", "content": RESULT, "tool_call_id": "call_w1"},
        {"role": "assistant", "content": "It is sunny in Paris, 21 C."}]
    assert len(second["messages"]) == 5  # each message once


def test_logs_that_come_before_their_spans_land_on_them(stack: Stack) -> None:
    traces, logs, (first_id, _) = replay("openai-v2-eventlogs", with_logs=True)
    assert logs is not None
    assert send_logs_grpc(stack, logs).partial_success.rejected_log_records == 0
    send_logs_grpc(stack, logs)  # the exporter's retry: each record is stored once
    send_http(stack, traces)
    first = wait_until(lambda: (c := stored_call(stack, first_id))["messages"] and c, 90,
                       "the call with the messages logged before it")
    assert first["messages"] == EVENT_MODE_FIRST


def test_an_app_evaluation_is_a_score_beside_the_judges(stack: Stack) -> None:
    traces, _, (first_id, _) = replay("openllmetry")
    send_http(stack, traces)
    call = stored_call(stack, first_id)
    evaluation = ExportLogsServiceRequest(resource_logs=[{
        "resource": {"attributes": _kvs({"service.name": "eval-app"})},
        "scope_logs": [{"log_records": [
            {"trace_id": bytes.fromhex(first_id), "span_id": bytes.fromhex(call["span_id"]),
             "event_name": "gen_ai.evaluation.result", "attributes": _kvs({
                 "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.25,
                 "gen_ai.evaluation.score.label": "partly",
                 "gen_ai.evaluation.explanation": "asked a tool first"})},
            {"trace_id": bytes.fromhex(first_id), "span_id": bytes.fromhex(call["span_id"]),
             "body": {"string_value": "INFO request handled in 12 ms"}},  # an app log
        ]}]}])
    response = send_logs_http(stack, evaluation, as_json=True)
    assert response.partial_success.rejected_log_records == 0
    scores = wait_until(lambda: stack.get(f"/v1/traces/{first_id}")["scores"], 90,
                        "the app's evaluation")
    [score] = scores
    assert (score["evaluator"], score["score"], score["label"], score["rationale"]) == (
        "relevance", 0.25, "partly", "asked a tool first")
    assert (score["sample_reason"], score["evaluator_version"], score["event_id"]) == (
        "app", "app", call["event_id"])
    assert stored_call(stack, first_id)["messages"][0]["role"] == "system"  # its own, once


def test_a_dataset_example_of_a_logged_call_carries_its_messages(stack: Stack) -> None:
    """The analyzer's ticket examples (and so the fine-tuning JSONL) of a call whose
    messages came as log records: a thumbs-down makes it an example."""
    from vigil_protos.v1 import events_pb2 as pb
    from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

    traces, logs, (first_id, _) = replay("openai-v2-eventlogs", with_logs=True)
    assert logs is not None
    send_http(stack, traces)
    send_logs_http(stack, logs)
    call = wait_until(lambda: (c := stored_call(stack, first_id))["messages"] and c, 90,
                      "the logged call")
    with grpc.insecure_channel(stack.target) as channel:
        ingest_pb2_grpc.IngestServiceStub(channel).SubmitFeedback(
            ingest_pb2.SubmitFeedbackRequest(feedback=pb.FeedbackEvent(
                trace_id=first_id, kind=pb.FEEDBACK_KIND_THUMBS, value=0)),
            metadata=list(AUTH.items()), timeout=30)
    start = call["start_time"][:19]

    def example() -> dict[str, Any] | None:
        response = httpx.get(f"{stack.api_url}/internal/analysis/examples", timeout=10,
                             headers={"authorization": f"Bearer {INTERNAL_TOKEN}"},
                             params={"project_id": PROJECT_A, "app": call["app"],
                                     "model": call["model"], "since": start,
                                     "until": "2100-01-01T00:00:00"})
        response.raise_for_status()
        return next((e for e in response.json()["examples"]
                     if e["event_id"] == call["event_id"]), None)

    found = wait_until(example, 90, "the call among the slice's examples")
    assert [m["role"] for m in json.loads(found["prompt"])] == ["system", "user"]
    assert json.loads(found["completion_tool_calls"]) == [
        {"id": "call_w1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]
