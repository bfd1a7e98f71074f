"""Stored messages read as a chat: typed turns with roles, tool calls and results, masked
PII and folding; a session as one conversation in order; spans as a tree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "dashboards"))

from conversation import (
    FOLD_CHARS,
    SpanRow,
    ToolCall,
    Turn,
    call_turns,
    session_turns,
    span_rows,
    turns,
)


def test_a_stored_prompt_and_answer_become_role_turns() -> None:
    prompt = json.dumps([{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "Where is my order?"}])
    got = turns(prompt, "It ships tomorrow.")
    assert [(t.role, t.text) for t in got] == [
        ("system", "Be brief."), ("user", "Where is my order?"),
        ("assistant", "It ships tomorrow.")]
    assert turns(json.loads(prompt), "x")[:2] == got[:2]  # decoded or as text, the same


def test_a_plain_text_prompt_is_one_user_turn_and_an_error_is_marked() -> None:
    got = turns("question number 7", "", "Rate limit reached")
    assert got == [Turn("user", "question number 7"),
                   Turn("assistant", "Rate limit reached", error=True)]
    assert turns("", "") == []
    assert turns("[not json", "ok")[0] == Turn("user", "[not json")


def test_tool_calls_and_tool_results_become_blocks() -> None:
    prompt = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"id": "call_2", "type": "function",  # OpenAI's nesting
             "function": {"name": "get_time", "arguments": {"tz": "CET"}}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
    ]
    user, asked, answered = turns(prompt)
    assert user.role == "user"
    assert asked.role == "assistant" and asked.text == ""
    assert asked.tool_calls == (ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
                                ToolCall("call_2", "get_time", '{"tz": "CET"}'))
    assert answered == Turn("tool", '{"temp_c": 21}', tool_call_id="call_1")


def test_genai_message_parts_are_read() -> None:
    prompt = [
        {"role": "user", "parts": None, "content": [{"type": "text", "content": "Hi"}]},
        {"role": "assistant", "content": [
            {"type": "text", "content": "Let me look."},
            {"type": "tool_call", "id": "c9", "name": "search", "arguments": {"q": "hi"}}]},
        {"role": "user", "content": [
            {"type": "tool_call_response", "id": "c9", "response": {"hits": 3}}]},
    ]
    hello, looking, result = turns(prompt)
    assert hello.text == "Hi"
    assert looking.text == "Let me look."
    assert looking.tool_calls == (ToolCall("c9", "search", '{"q": "hi"}'),)
    assert result.role == "tool" and result.tool_call_id == "c9"
    assert result.text == '{"hits": 3}'


def test_masked_pii_is_marked_and_long_texts_fold() -> None:
    [turn] = turns([{"role": "user", "content": "Mail [EMAIL] or call [PHONE], card [CARD]."}])
    assert turn.masked == ("email", "phone", "card")
    long = "word " * (FOLD_CHARS // 5 + 10)
    [answer] = turns([], long)
    assert answer.folded and answer.preview.endswith("…") and len(answer.preview) < len(long)
    [short] = turns([], "short")
    assert not short.folded and short.preview == "short"


def _call(trace: str, prompt: list[dict[str, str]], completion: str) -> dict[str, object]:
    return {"trace_id": trace, "model": "m", "start_time": "2026-12-03T18:00:00Z",
            "status": "ok", "prompt": json.dumps(prompt), "completion": completion}


def test_a_session_reads_as_one_conversation_in_order() -> None:
    system = {"role": "system", "content": "Help."}
    first = [system, {"role": "user", "content": "Q1"}]
    second = [*first, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    fresh = [system, {"role": "user", "content": "Q3 on its own"}]
    got = session_turns([_call("t1", first, "A1"), _call("t2", second, "A2"),
                         _call("t3", fresh, "A3")])
    assert [(t.role, t.text) for t in got] == [
        ("system", "Help."), ("user", "Q1"), ("assistant", "A1"),
        ("user", "Q2"), ("assistant", "A2"), ("user", "Q3 on its own"), ("assistant", "A3")]
    assert [t.meta.get("trace_id") for t in got if t.role == "assistant"] == ["t1", "t2", "t3"]
    failed = session_turns([{"trace_id": "t9", "prompt": "hi", "completion": "",
                             "error_message": "Timeout"}])
    assert failed[-1].error and failed[-1].text == "Timeout"


def test_spans_become_a_tree_with_offsets_and_durations() -> None:
    spans = [
        {"span_id": "c", "parent_span_id": "a", "name": "llm", "duration_ms": 40,
         "start_time": "2026-12-03T18:00:00.050"},
        {"span_id": "a", "parent_span_id": "", "name": "invoke_agent", "duration_ms": 100,
         "start_time": "2026-12-03T18:00:00.000"},
        {"span_id": "b", "parent_span_id": "a", "name": "execute_tool", "duration_ms": 20,
         "start_time": "2026-12-03T18:00:00.010", "status": "error"},
        {"span_id": "d", "parent_span_id": "gone", "name": "orphan", "duration_ms": 5,
         "start_time": "2026-12-03T18:00:00.200"},
        {"span_id": "e", "parent_span_id": "e", "name": "own parent", "duration_ms": 1,
         "start_time": "2026-12-03T18:00:00.300"},
    ]
    assert span_rows(spans) == [
        SpanRow("a", "invoke_agent", 0, 0.0, 100.0, ""),
        SpanRow("b", "execute_tool", 1, 10.0, 20.0, "error"),
        SpanRow("c", "llm", 1, 50.0, 40.0, ""),
        SpanRow("d", "orphan", 0, 200.0, 5.0, ""),
        SpanRow("e", "own parent", 0, 300.0, 1.0, ""),
    ]
    assert span_rows([]) == []


def test_a_call_with_api_messages_reads_them_tool_calls_included() -> None:
    """The read API's `messages` (prompt then answer, OpenAI chat form) win over the
    stored prompt text; without them the prompt and completion are read; an error closes
    the chat only when there is no answer."""
    call = {"prompt": "ignored", "completion": "", "error_message": "", "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}]}
    user, asked = call_turns(call)
    assert (user.role, user.text) == ("user", "Weather in Paris?")
    assert asked.tool_calls == (ToolCall("c1", "get_weather", '{"city": "Paris"}'),)
    failed = {**call, "error_message": "timeout"}
    assert call_turns(failed)[-1] == Turn("assistant", "timeout", error=True)
    assert call_turns({"prompt": "hi", "completion": "hello"}) == [
        Turn("user", "hi"), Turn("assistant", "hello")]
