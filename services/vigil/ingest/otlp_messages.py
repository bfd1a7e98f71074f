"""The conversation of an LLM span or of its log records (pure): role, text, the tool
calls an assistant made (id, name, arguments) and the tool results (call id, content).

Read from, in this order, the first that has messages:
- the current GenAI conventions: `gen_ai.input.messages` / `gen_ai.output.messages` /
  `gen_ai.system_instructions`, lists of parts (`text`, `tool_call`, `tool_call_response`),
  as JSON text on a span or as structured values on a log record;
- OpenLLMetry's indexed `gen_ai.prompt.N.{role,content,tool_call_id}`,
  `gen_ai.prompt.N.tool_calls.M.{id,name,arguments}` and `gen_ai.completion.N.*`;
- OpenInference's `llm.input_messages.N.message.{role,content,tool_call_id}`,
  `...message.contents.K.message_content.text` and
  `...message.tool_calls.M.tool_call.{id,function.name,function.arguments}`;
- the older event layout (span events, or log records with the event name and a body):
  `gen_ai.{system,user,assistant,tool}.message`, `gen_ai.choice`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vigil.ingest.otlp_values import parse_json, text
from vigil_protos.v1 import events_pb2 as pb

ROLE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
               "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}
CHOICE_EVENT = "gen_ai.choice"


@dataclass(slots=True)
class Conversation:
    prompt: list[pb.Message] = field(default_factory=list)
    completion: str = ""
    tool_calls: list[pb.ToolCall] = field(default_factory=list)  # of the completion
    finish_reason: str = ""

    def __bool__(self) -> bool:
        return bool(self.prompt or self.completion or self.tool_calls)


def arguments_text(value: Any) -> str:
    """Tool-call arguments as JSON text (instrumentations send text or an object)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --- the current GenAI conventions: messages of parts -------------------------------------

def semconv(a: dict[str, Any], max_depth: int) -> Conversation:
    """From `gen_ai.system_instructions`, `gen_ai.input.messages`, `gen_ai.output.messages`
    (JSON text or structured). System instructions that repeat a system message of the input
    (openlit sends both) are kept once."""
    def read(name: str) -> Any:
        return parse_json(a.get(name), name, max_depth)

    out = Conversation()
    for message in _dicts(read("gen_ai.input.messages")):
        out.prompt.extend(part_messages(message))
    instructions = read("gen_ai.system_instructions")
    if instructions:
        system = _parts_text(instructions)
        if system and not any(m.role == "system" and m.content == system for m in out.prompt):
            out.prompt.insert(0, pb.Message(role="system", content=system))
    for message in _dicts(read("gen_ai.output.messages"))[:1]:  # the first choice
        answer = part_messages(message)
        out.completion = "".join(m.content for m in answer if m.role != "tool")
        out.tool_calls.extend(c for m in answer for c in m.tool_calls)
        out.finish_reason = str(message.get("finish_reason") or "")
    return out


def part_messages(message: dict[str, Any]) -> list[pb.Message]:
    """One semconv message as Vigil messages: its text and tool calls as one message of its
    role, each `tool_call_response` part as a `tool` message of its own."""
    role = str(message.get("role") or "user")
    parts = message.get("parts")
    if parts is None:  # an older shape: {"role", "content"}
        return [pb.Message(role=role, content=_parts_text(message.get("content")))]
    texts: list[str] = []
    calls: list[pb.ToolCall] = []
    results: list[pb.Message] = []
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type", "text")
        if kind == "text":
            texts.append(str(part.get("content") or part.get("text") or ""))
        elif kind == "tool_call":
            calls.append(pb.ToolCall(id=str(part.get("id") or ""), name=str(part.get("name") or ""),
                                     arguments=arguments_text(part.get("arguments"))))
        elif kind == "tool_call_response":
            response = part.get("response", part.get("result"))
            results.append(pb.Message(role="tool", tool_call_id=str(part.get("id") or ""),
                                      content="" if response is None else text(response)))
    out = [pb.Message(role=role, content="".join(texts), tool_calls=calls)] \
        if texts or calls or not results else []
    return out + results


def _parts_text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, dict):
        return str(parts.get("content") or parts.get("text") or "")
    if isinstance(parts, list):
        return "".join(_parts_text(p) for p in parts
                       if not isinstance(p, dict) or p.get("type", "text") == "text")
    return ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


# --- indexed attributes: OpenLLMetry and OpenInference --------------------------------------

@dataclass(frozen=True, slots=True)
class IndexedLayout:
    """Where a flattened layout puts a message's fields: `{prefix}.{i}{infix}.role`, its
    tool calls at `{prefix}.{i}{infix}.tool_calls.{m}{call_infix}.{id,name,arguments}`."""

    prompt: str
    completion: str
    infix: str
    call_infix: str
    call_name: str
    call_arguments: str


OPENLLMETRY = IndexedLayout("gen_ai.prompt", "gen_ai.completion", "", "", "name", "arguments")
OPENINFERENCE = IndexedLayout("llm.input_messages", "llm.output_messages", ".message",
                              ".tool_call", "function.name", "function.arguments")


def indexed(a: dict[str, Any], layout: IndexedLayout) -> Conversation:
    out = Conversation(prompt=list(_indexed_messages(a, layout.prompt, layout)))
    answer = next(iter(_indexed_messages(a, layout.completion, layout, limit=1)), None)
    if answer is not None:
        out.completion, out.tool_calls[:] = answer.content, list(answer.tool_calls)
    out.finish_reason = str(a.get(f"{layout.completion}.0.finish_reason") or "")
    return out


def _indexed_messages(a: dict[str, Any], prefix: str, layout: IndexedLayout,
                      limit: int = 10_000) -> Iterable[pb.Message]:
    for i in range(limit):
        base = f"{prefix}.{i}{layout.infix}"
        calls = list(_indexed_calls(a, f"{base}.tool_calls", layout))
        contents = _indexed_contents(a, f"{base}.contents")
        if not calls and contents is None and not any(
                f"{base}.{name}" in a for name in ("role", "content", "tool_call_id")):
            return
        content = a.get(f"{base}.content")
        yield pb.Message(role=str(a.get(f"{base}.role") or "user"),
                         content=text(content) if content is not None else (contents or ""),
                         name=str(a.get(f"{base}.name") or ""), tool_calls=calls,
                         tool_call_id=str(a.get(f"{base}.tool_call_id") or ""))


def _indexed_calls(a: dict[str, Any], prefix: str, layout: IndexedLayout
                   ) -> Iterable[pb.ToolCall]:
    for m in range(10_000):
        base = f"{prefix}.{m}{layout.call_infix}"
        names = (f"{base}.id", f"{base}.{layout.call_name}", f"{base}.{layout.call_arguments}")
        if not any(n in a for n in names):
            return
        yield pb.ToolCall(id=str(a.get(names[0]) or ""), name=str(a.get(names[1]) or ""),
                          arguments=arguments_text(a.get(names[2])))


def _indexed_contents(a: dict[str, Any], prefix: str) -> str | None:
    """OpenInference's `message.contents.K.message_content.text` parts, joined."""
    texts = []
    for k in range(10_000):
        base = f"{prefix}.{k}.message_content"
        if f"{base}.type" not in a and f"{base}.text" not in a:
            break
        if a.get(f"{base}.type", "text") == "text":
            texts.append(str(a.get(f"{base}.text") or ""))
    return "".join(texts) if texts else None


# --- the older event layout: span events or log records -------------------------------------

def add_event(out: Conversation, name: str, body: dict[str, Any], max_depth: int) -> bool:
    """Fold one `gen_ai.*.message` / `gen_ai.choice` event (span event attributes or a log
    record's body) into `out`; False when the event is not one of them."""
    if name in ROLE_EVENTS:
        out.prompt.append(pb.Message(
            role=ROLE_EVENTS[name], content=_content(body.get("content")),
            tool_calls=_openai_calls(parse_json(body.get("tool_calls"), f"{name} tool_calls",
                                                max_depth)),
            tool_call_id=str(body.get("id") or body.get("tool_call_id") or "")))
        return True
    if name == CHOICE_EVENT:
        message = parse_json(body.get("message"), f"{name} message", max_depth)
        if isinstance(message, dict):
            out.completion = _content(message.get("content"))
            out.tool_calls[:] = _openai_calls(message.get("tool_calls"))
        else:
            out.completion = _content(body.get("content"))
        out.finish_reason = str(body.get("finish_reason") or out.finish_reason)
        return True
    return False


def _content(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _parts_text(value)


def _openai_calls(value: Any) -> list[pb.ToolCall]:
    """Tool calls in the OpenAI shape: [{id, type, function: {name, arguments}}]."""
    calls = []
    for call in value if isinstance(value, list) else []:
        if isinstance(call, dict):
            function = call.get("function") if isinstance(call.get("function"), dict) else call
            calls.append(pb.ToolCall(id=str(call.get("id") or ""),
                                     name=str(function.get("name") or ""),
                                     arguments=arguments_text(function.get("arguments"))))
    return calls
