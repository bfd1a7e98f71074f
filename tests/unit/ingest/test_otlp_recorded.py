"""The mapping over OTLP payloads recorded from the real instrumentation libraries
(testdata/otlp/*.json: openlit 1.45.0, opentelemetry-instrumentation-openai-v2 2.4b0 in its
span-attribute mode, openinference-instrumentation-openai 0.1.66, OpenLLMetry's
opentelemetry-instrumentation-openai 0.62.4, each around a real openai 2.54.0 client
talking to a loopback OpenAI-compatible server). The conversation: a system prompt and a
question with one tool offered (temperature 0, seed 0, max_tokens 50, top_p 0.5), the
model's tool call, then the tool's result and the model's answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.unit.ingest.test_otlp_mapping import LIMITS
from vigil.events.wire import trace_from_proto
from vigil.ingest.otlp import map_request
from vigil_protos.v1 import events_pb2 as pb

TESTDATA = Path(__file__).parent / "testdata" / "otlp"
NOW = datetime(2026, 12, 3, tzinfo=UTC)
SYSTEM, QUESTION = "You are a weather bot.", "Weather in Paris?"
RESULT, ANSWER = '{"temp_c": 21, "sky": "sunny"}', "It is sunny in Paris, 21 C."
CALL = ("call_w1", "get_weather", {"city": "Paris"})


def recorded(name: str) -> list[pb.TraceEvent]:
    request = json_format.Parse((TESTDATA / f"{name}.traces.json").read_text(),
                                ExportTraceServiceRequest())
    mapped = map_request(request, LIMITS, NOW)
    assert mapped.rejected == []
    return sorted(mapped.events, key=lambda e: e.start_time.ToNanoseconds())


def calls(message_or_event: pb.Message | pb.TraceEvent) -> list[tuple[str, str, object]]:
    found = message_or_event.tool_calls if isinstance(message_or_event, pb.Message) \
        else message_or_event.completion_tool_calls
    return [(c.id, c.name, json.loads(c.arguments)) for c in found]


LIBRARIES = ["openlit", "openai-v2", "openinference", "openllmetry"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_first_call_asks_for_a_tool(library: str) -> None:
    first = recorded(library)[0]
    assert [(m.role, m.content) for m in first.prompt] == [("system", SYSTEM),
                                                           ("user", QUESTION)]
    assert first.completion == "" and calls(first) == [CALL]
    # openlit and OpenLLMetry say tool_call, the others tool_calls (as the server did)
    assert first.finish_reason in ("tool_calls", "tool_call")


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_second_call_carries_the_tool_result(library: str) -> None:
    second = recorded(library)[1]
    results = [m for m in second.prompt if m.role == "tool"]
    assert [(m.tool_call_id, m.content) for m in results] == [("call_w1", RESULT)]
    asked = [m for m in second.prompt if m.role == "assistant"]
    if library == "openlit":  # openlit leaves the assistant's tool-call message out
        assert asked == []
    else:
        assert [calls(m) for m in asked] == [[CALL]]
    assert (second.completion, second.finish_reason, calls(second)) == (ANSWER, "stop", [])


@pytest.mark.parametrize("library", LIBRARIES)
def test_request_parameters_keep_their_zeros(library: str) -> None:
    params = recorded(library)[0].params
    assert (params.HasField("temperature"), params.temperature) == (True, 0.0)
    assert (params.max_tokens, params.top_p) == (50, 0.5)
    if library == "openllmetry":  # OpenLLMetry does not send the seed
        assert not params.HasField("seed")
    else:
        assert (params.HasField("seed"), params.seed) == (True, 0)
    assert trace_from_proto(recorded(library)[0], "p", NOW).params["temperature"] == 0.0


def test_openlit_system_prompt_is_stored_once() -> None:
    """Finding 3: openlit sends the system prompt in gen_ai.system_instructions and as the
    first input message."""
    for event in recorded("openlit"):
        assert [m.role for m in event.prompt].count("system") == 1


def test_openinference_finish_reason_and_invocation_parameters() -> None:
    """Finding 4: llm.finish_reason and llm.invocation_parameters."""
    first, second = recorded("openinference")
    assert (first.finish_reason, second.finish_reason) == ("tool_calls", "stop")
    assert trace_from_proto(first, "p", NOW).params == {
        "temperature": 0.0, "top_p": 0.5, "max_tokens": 50, "seed": 0}


@pytest.mark.parametrize("library", ["openinference", "openllmetry"])
def test_tool_definitions_are_kept_with_the_call(library: str) -> None:
    tools = json.loads(recorded(library)[0].tool_definitions)
    assert len(tools) == 1
    tool = tools[0].get("function", tools[0])  # OpenInference keeps the OpenAI wrapper
    assert tool["name"] == "get_weather" and tool["parameters"]["required"] == ["city"]


@pytest.mark.parametrize("library", ["openlit", "openai-v2"])
def test_libraries_that_send_no_tool_definitions_store_none(library: str) -> None:
    assert [e.tool_definitions for e in recorded(library)] == ["", ""]


def test_the_event_mode_spans_alone_carry_no_messages() -> None:
    """openai-v2 in its default mode sends the messages as log records: the spans have
    tokens, parameters and finish reason, and no conversation."""
    first, second = recorded("openai-v2-eventlogs")
    assert (first.prompt, first.completion, first.finish_reason) == ([], "", "tool_calls")
    assert (second.input_tokens, second.params.seed) == (31, 0)
