"""Tool calls, tool results and numbers from the layouts no recorded library sends today:
OpenLLMetry's indexed attributes, the older span-event layout, OpenInference's content
parts, and numbers spelled as doubles or text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.ingest.test_otlp_mapping import BASE, _map, _span
from vigil_protos.v1 import events_pb2 as pb


def _calls(calls: Any) -> list[tuple[str, str, str]]:
    return [(c.id, c.name, c.arguments) for c in calls]


def test_openllmetry_indexed_tool_calls_and_results() -> None:
    [event] = _map(_span({
        **BASE,
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Weather?",
        "gen_ai.prompt.1.role": "assistant",
        "gen_ai.prompt.1.tool_calls.0.id": "c1", "gen_ai.prompt.1.tool_calls.0.name": "wx",
        "gen_ai.prompt.1.tool_calls.0.arguments": '{"city": "Oslo"}',
        "gen_ai.prompt.2.role": "tool", "gen_ai.prompt.2.tool_call_id": "c1",
        "gen_ai.prompt.2.content": "cold",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": "c2",
        "gen_ai.completion.0.tool_calls.0.name": "wx",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Rome"}',
    }))
    assert [(m.role, m.content, m.tool_call_id) for m in event.prompt] == [
        ("user", "Weather?", ""), ("assistant", "", ""), ("tool", "cold", "c1")]
    assert _calls(event.prompt[1].tool_calls) == [("c1", "wx", '{"city": "Oslo"}')]
    assert _calls(event.completion_tool_calls) == [("c2", "wx", '{"city": "Rome"}')]
    assert event.finish_reason == "tool_calls"


def test_openllmetry_request_functions_are_the_tool_definitions() -> None:
    [event] = _map(_span({**BASE, "gen_ai.prompt.0.content": "hi",
                          "llm.request.functions.0.name": "wx",
                          "llm.request.functions.0.description": "weather",
                          "llm.request.functions.0.parameters": '{"type": "object"}'}))
    assert json.loads(event.tool_definitions) == [
        {"name": "wx", "description": "weather", "parameters": {"type": "object"}}]


def test_older_span_events_with_tool_calls() -> None:
    calls = [{"id": "c1", "type": "function",
              "function": {"name": "wx", "arguments": '{"city": "Oslo"}'}}]
    [event] = _map(_span(BASE, [
        ("gen_ai.user.message", {"content": "Weather?"}),
        ("gen_ai.assistant.message", {"tool_calls": json.dumps(calls)}),
        ("gen_ai.tool.message", {"content": "cold", "id": "c1"}),
        ("gen_ai.choice", {"finish_reason": "tool_calls", "message": json.dumps(
            {"role": "assistant", "tool_calls": [{**calls[0], "id": "c2"}]})}),
    ]))
    assert [(m.role, m.tool_call_id) for m in event.prompt] == [
        ("user", ""), ("assistant", ""), ("tool", "c1")]
    assert _calls(event.prompt[1].tool_calls) == [("c1", "wx", '{"city": "Oslo"}')]
    assert _calls(event.completion_tool_calls) == [("c2", "wx", '{"city": "Oslo"}')]
    assert event.finish_reason == "tool_calls"


def test_semconv_parts_of_every_kind() -> None:
    [event] = _map(_span({**BASE, "gen_ai.input.messages": json.dumps([
        {"role": "user", "parts": [{"type": "text", "content": "a"},
                                   {"type": "text", "content": "b"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "checking"},
                                        {"type": "tool_call", "id": "c1", "name": "wx",
                                         "arguments": '{"x": 1}'},
                                        {"type": "tool_call", "id": "c2", "name": "tz",
                                         "arguments": None}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1",
                                    "response": {"t": 3}},
                                   {"type": "tool_call_response", "id": "c2",
                                    "response": "UTC"}]},
    ]), "gen_ai.output.messages": json.dumps([
        {"role": "assistant", "parts": [{"type": "reasoning", "content": "hm"},
                                        {"type": "text", "content": "done"}],
         "finish_reason": "stop"}])}))
    assert [(m.role, m.content, m.tool_call_id) for m in event.prompt] == [
        ("user", "ab", ""), ("assistant", "checking", ""), ("tool", '{"t": 3}', "c1"),
        ("tool", "UTC", "c2")]
    assert _calls(event.prompt[1].tool_calls) == [("c1", "wx", '{"x": 1}'), ("c2", "tz", "")]
    assert (event.completion, event.finish_reason) == ("done", "stop")


def test_openinference_content_parts_and_tools() -> None:
    [event] = _map(_span({
        "llm.model_name": "gpt-4o", "openinference.span.kind": "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "Hi ",
        "llm.input_messages.0.message.contents.1.message_content.type": "image",
        "llm.input_messages.0.message.contents.2.message_content.type": "text",
        "llm.input_messages.0.message.contents.2.message_content.text": "there",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Hello",
        "llm.tools.0.tool.json_schema": '{"name": "wx"}',
    }))
    assert [(m.role, m.content) for m in event.prompt] == [("user", "Hi there")]
    assert event.completion == "Hello" and json.loads(event.tool_definitions) == [{"name": "wx"}]


@pytest.mark.parametrize("zero", [0, 0.0, "0"], ids=["int", "double", "text"])
def test_a_zero_is_a_value_however_it_is_spelled(zero: object) -> None:
    """Finding 5: seed, max_tokens, temperature and token counts of zero are kept, sent
    as an int, a double (as OTLP/JSON exporters of other languages do) or text."""
    [event] = _map(_span({**BASE, "gen_ai.request.seed": zero,
                          "gen_ai.request.temperature": zero,
                          "gen_ai.request.max_tokens": zero,
                          "gen_ai.usage.output_tokens": zero,
                          "gen_ai.usage.cache_read.input_tokens": zero}))
    p = event.params
    assert [p.HasField(f) for f in ("seed", "temperature", "max_tokens")] == [True] * 3
    assert (p.seed, p.temperature, p.max_tokens) == (0, 0.0, 0)
    assert event.HasField("output_tokens") and event.output_tokens == 0
    assert event.HasField("cached_input_tokens") and event.cached_input_tokens == 0


def test_invocation_parameters_with_a_zero_seed() -> None:
    [event] = _map(_span({"llm.model_name": "m", "openinference.span.kind": "LLM",
                          "llm.invocation_parameters": json.dumps(
                              {"seed": 0, "temperature": 0, "max_completion_tokens": 9,
                               "stop": "END", "response_format": {"type": "json_object"}})}))
    p = event.params
    assert (p.HasField("seed"), p.seed, p.HasField("temperature"), p.max_tokens) == (
        True, 0, True, 9)
    assert (list(p.stop), p.response_format) == (["END"], "json_object")


@pytest.mark.parametrize("bad", [-1, 1.5, "many", float("nan"), True])
def test_numbers_that_are_not_counts_are_left_out(bad: object) -> None:
    [event] = _map(_span({**BASE, "gen_ai.request.seed": bad, "gen_ai.usage.input_tokens": bad}))
    assert not event.params.HasField("seed") and not event.HasField("input_tokens")


def test_a_message_proto_of_an_old_client_reads_as_no_tool_calls() -> None:
    old = pb.Message(role="user", content="hi").SerializeToString()
    message = pb.Message.FromString(old)
    assert (list(message.tool_calls), message.tool_call_id) == ([], "")


@pytest.mark.parametrize("attrs", [
    {"gen_ai.operation.name": "execute_tool", "gen_ai.provider.name": "openai",
     "gen_ai.tool.name": "wx", "gen_ai.tool.call.id": "c1",
     "gen_ai.tool.call.arguments": '{"city": "Oslo"}', "gen_ai.tool.call.result": "cold"},
    {"gen_ai.operation.name": "invoke_agent", "gen_ai.system": "openai",
     "gen_ai.request.model": "gpt-4o", "gen_ai.agent.name": "weather"},
    {"openinference.span.kind": "TOOL", "llm.model_name": "gpt-4o", "tool.name": "wx"},
], ids=["execute_tool", "invoke_agent", "openinference-tool"])
def test_agent_and_tool_spans_are_the_trace_tree_not_calls(attrs: dict[str, Any]) -> None:
    """Before, an agent or tool span naming a provider was taken for an LLM call and, with
    no model, rejected: the agent's tree lost its steps."""
    from tests.unit.ingest.test_otlp_mapping import LIMITS, NOW, _request
    from vigil.ingest.otlp import map_request

    mapped = map_request(_request(_span(attrs)), LIMITS, NOW, keep_other_spans=True)
    assert (mapped.events, mapped.rejected) == ([], [])
    [row] = mapped.other_spans
    assert {k: row["attributes"][k] for k in attrs} == {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in attrs.items()}
