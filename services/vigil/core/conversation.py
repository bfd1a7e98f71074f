"""A stored call's conversation in the OpenAI chat format (pure): the read API shows it,
the fine-tuning export writes it.

A stored prompt is the `traces.prompt` JSON, `[{role, content, name, tool_calls: [{id,
name, arguments}], tool_call_id}]` (rows of before migration 0010 lack the last two);
the answer is the completion text and `traces.completion_tool_calls`. In the chat format
an assistant's tool calls are `{"id", "type": "function", "function": {"name",
"arguments"}}` and a tool result is `{"role": "tool", "tool_call_id", "content"}`, as
OpenAI's chat fine-tuning JSONL wants them.
"""

from __future__ import annotations

import json
from typing import Any


def loads_list(text: Any) -> list[Any]:
    """A JSON array stored as text ('' or not an array: empty)."""
    if isinstance(text, list):
        return text
    try:
        value = json.loads(text) if isinstance(text, str) and text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def chat_message(message: dict[str, Any]) -> dict[str, Any]:
    """One stored message in the chat format."""
    out: dict[str, Any] = {"role": str(message.get("role") or "user"),
                           "content": str(message.get("content") or "")}
    if message.get("name"):
        out["name"] = str(message["name"])
    calls = [chat_tool_call(c) for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if calls:
        out["tool_calls"] = calls
    if message.get("tool_call_id"):
        out["tool_call_id"] = str(message["tool_call_id"])
    return out


def chat_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(call.get("id") or ""), "type": "function",
            "function": {"name": str(call.get("name") or ""),
                         "arguments": str(call.get("arguments") or "")}}


def answer_message(completion: str, tool_calls: list[Any]) -> dict[str, Any] | None:
    """The model's answer as an assistant message; None when it said nothing."""
    calls = [chat_tool_call(c) for c in tool_calls if isinstance(c, dict)]
    if not completion and not calls:
        return None
    out: dict[str, Any] = {"role": "assistant", "content": completion}
    if calls:
        out["tool_calls"] = calls
    return out


def conversation(prompt: Any, completion: str, completion_tool_calls: Any) -> list[dict[str, Any]]:
    """The prompt's messages and then the answer, in the chat format (a prompt stored as
    plain text, not as the JSON of its messages, reads as one user message)."""
    messages = [chat_message(m) for m in loads_list(prompt) if isinstance(m, dict)]
    if not messages and isinstance(prompt, str) and prompt and not prompt.startswith("["):
        messages = [{"role": "user", "content": prompt}]
    answer = answer_message(completion, loads_list(completion_tool_calls))
    return messages + ([answer] if answer else [])


def chat_tools(tool_definitions: Any) -> list[dict[str, Any]]:
    """Stored tool definitions in the chat format's `tools` shape: `{"type": "function",
    "function": {name, description, parameters}}` (the GenAI conventions write the
    function's fields at the top level; OpenInference keeps the wrapper)."""
    tools = []
    for tool in loads_list(tool_definitions):
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):
            tools.append({"type": "function", "function": tool["function"]})
        elif tool.get("name"):
            tools.append({"type": "function", "function": {
                k: tool[k] for k in ("name", "description", "parameters") if k in tool}})
    return tools


def call_view(row: dict[str, Any]) -> dict[str, Any]:
    """A `traces` row as the read API shows it: the answer's tool calls and the tool
    definitions parsed, and the whole conversation as `messages`."""
    calls = loads_list(row.get("completion_tool_calls"))
    return {**row, "completion_tool_calls": calls,
            "tool_definitions": loads_list(row.get("tool_definitions")),
            "messages": conversation(row.get("prompt"), str(row.get("completion") or ""), calls)}


CALL_LOG_COLUMNS = ("event_id, time, seq, prompt, completion, completion_tool_calls, "
                    "finish_reason, tool_definitions")


def with_logs(row: dict[str, Any], logs: list[dict[str, Any]]) -> dict[str, Any]:
    """A `traces` row with the messages its app sent as log records (`call_logs` rows of
    its event id, in any order) when the span itself carried none: the prompt fragments in
    the order the records were made, the last answer, its tool calls and finish reason.
    A call whose span has messages keeps its own (an app that sends both sends them twice)."""
    has_own = loads_list(row.get("prompt")) or row.get("completion") \
        or loads_list(row.get("completion_tool_calls"))
    mine = sorted((x for x in logs if x.get("event_id") == row.get("event_id")),
                  key=lambda x: (str(x.get("time")), int(x.get("seq") or 0)))
    if has_own or not mine:
        return row
    prompt: list[Any] = []
    completion, calls, finish, tools = "", [], str(row.get("finish_reason") or ""), ""
    for part in mine:
        prompt.extend(loads_list(part.get("prompt")))
        part_calls = loads_list(part.get("completion_tool_calls"))
        if part.get("completion") or part_calls:
            completion, calls = str(part.get("completion") or ""), part_calls
        finish = str(part.get("finish_reason") or finish)
        tools = str(part.get("tool_definitions") or tools)
    return {**row, "prompt": json.dumps(prompt, ensure_ascii=False), "completion": completion,
            "completion_tool_calls": json.dumps(calls, ensure_ascii=False),
            "finish_reason": finish,
            "tool_definitions": row.get("tool_definitions") or tools, "messages_from": "logs"}
