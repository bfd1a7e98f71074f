"""A stored call as a conversation in the OpenAI chat format."""

from __future__ import annotations

import json

from vigil.core.conversation import chat_tools, conversation

PROMPT = json.dumps([
    {"role": "user", "content": "Weather?", "name": ""},
    {"role": "assistant", "content": "", "name": "",
     "tool_calls": [{"id": "c1", "name": "wx", "arguments": '{"city": "Oslo"}'}],
     "tool_call_id": ""},
    {"role": "tool", "content": "cold", "name": "", "tool_calls": [], "tool_call_id": "c1"},
])


def test_a_stored_call_reads_as_chat_messages_with_the_answer_last() -> None:
    messages = conversation(PROMPT, "", '[{"id": "c2", "name": "wx", "arguments": "{}"}]')
    assert messages == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "wx", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "content": "cold", "tool_call_id": "c1"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": "wx", "arguments": "{}"}}]},
    ]


def test_rows_from_before_tool_calls_read_as_text_messages() -> None:
    old = json.dumps([{"role": "user", "content": "hi", "name": ""}])
    assert conversation(old, "hello", "[]") == [{"role": "user", "content": "hi"},
                                                {"role": "assistant", "content": "hello"}]
    assert conversation("", "", "") == [] and conversation("[", "x", "{") == [
        {"role": "assistant", "content": "x"}]
    assert conversation("plain text", "", "") == [{"role": "user", "content": "plain text"}]


def test_tool_definitions_of_every_layout_read_as_chat_tools() -> None:
    semconv = [{"type": "function", "name": "wx", "parameters": {"type": "object"}}]
    wrapped = [{"type": "function", "function": {"name": "tz"}}]
    assert chat_tools(json.dumps(semconv + wrapped + ["junk", {"no": "name"}])) == [
        {"type": "function", "function": {"name": "wx", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "tz"}}]
    assert chat_tools("") == []
