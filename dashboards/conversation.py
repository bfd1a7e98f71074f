"""Stored messages as a chat (pure: no Streamlit here; the page renders ``Turn``s).

``turns(prompt, completion, error)`` reads a call's prompt as the store keeps it (a JSON
list of messages, already decoded or as text, or plain text for apps that logged a
string) and its completion, and returns typed turns in order: system, user, assistant
and tool turns with their text, the tool calls an assistant asked for (``tool_calls``:
``[{id, name, arguments}]``, or OpenAI's ``{id, function: {name, arguments}}``), the call a
tool turn answers (``tool_call_id``), the PII kinds enrich masked in the text, and
whether the text is long enough to fold. Content given as a list of parts (``text``,
``tool_call``, ``tool_call_response``, as the OpenTelemetry GenAI conventions write
them) is read too.

``session_turns(calls)`` is a session's conversation in order: each call adds the
messages its prompt has beyond the previous call's, then its answer.

``span_rows(spans)`` is a trace's spans depth-first, each with its depth, start offset
and duration, for a tree or timeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FOLD_CHARS = 1200  # longer texts are shown folded
MASK_TOKENS = {"[EMAIL]": "email", "[PHONE]": "phone", "[CARD]": "card", "[SECRET]": "secret"}
_MASK = re.compile("|".join(re.escape(t) for t in MASK_TOKENS))
ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # as sent: usually JSON text


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # system, user, assistant, tool (another role is kept as given)
    text: str
    name: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""  # a tool turn: the call it answers
    masked: tuple[str, ...] = ()  # PII kinds masked in the text, in order of appearance
    error: bool = False  # the call failed: the text is its error message
    meta: Mapping[str, Any] = field(default_factory=dict)  # e.g. trace id, model, time

    @property
    def folded(self) -> bool:
        return len(self.text) > FOLD_CHARS

    @property
    def preview(self) -> str:
        """The first lines of a folded text (the whole text otherwise)."""
        return self.text if not self.folded else self.text[: FOLD_CHARS // 2].rstrip() + " …"


def masked_kinds(text: str) -> tuple[str, ...]:
    return tuple(MASK_TOKENS[m] for m in _MASK.findall(text))


def _text(content: Any) -> tuple[str, list[ToolCall], str]:
    """Text, tool calls and a tool-call id read from a message's content."""
    if content is None:
        return "", [], ""
    if isinstance(content, str):
        return content, [], ""
    if not isinstance(content, list):
        return json.dumps(content, ensure_ascii=False), [], ""
    texts, calls, answered = [], [], ""
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "tool_call":
            calls.append(_tool_call(part))
        elif kind == "tool_call_response":
            answered = str(part.get("id") or "")
            texts.append(_as_text(part.get("response", part.get("result"))))
        elif "text" in part or "content" in part:
            texts.append(_as_text(part.get("text", part.get("content"))))
    return "\n".join(t for t in texts if t), calls, answered


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_call(raw: Mapping[str, Any]) -> ToolCall:
    function = raw.get("function") if isinstance(raw.get("function"), Mapping) else {}
    name = raw.get("name") or function.get("name") or ""
    arguments = raw.get("arguments", function.get("arguments", ""))
    return ToolCall(str(raw.get("id") or ""), str(name), _as_text(arguments))


def _messages(prompt: Any) -> list[Any]:
    if isinstance(prompt, str):
        text = prompt.strip()
        if text.startswith("["):
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, list):
                return decoded
        return [{"role": "user", "content": prompt}] if prompt else []
    if isinstance(prompt, list):
        return prompt
    return []


def message_turn(message: Any) -> Turn:
    """One stored message as a turn."""
    if not isinstance(message, Mapping):
        text = _as_text(message)
        return Turn("user", text, masked=masked_kinds(text))
    text, calls, answered = _text(message.get("content"))
    for raw in message.get("tool_calls") or ():
        if isinstance(raw, Mapping):
            calls.append(_tool_call(raw))
    role = str(message.get("role") or "user")
    tool_call_id = str(message.get("tool_call_id") or answered)
    if tool_call_id and role not in ("assistant", "system"):
        role = "tool"
    return Turn(role, text, str(message.get("name") or ""), tuple(calls), tool_call_id,
                masked_kinds(text))


def turns(prompt: Any, completion: str = "", error: str = "") -> list[Turn]:
    """A call as a chat: its prompt's messages, then the answer (or the error)."""
    out = [message_turn(m) for m in _messages(prompt)]
    if completion:
        out.append(Turn("assistant", completion, masked=masked_kinds(completion)))
    elif error:
        out.append(Turn("assistant", error, masked=masked_kinds(error), error=True))
    return out


def call_turns(call: Mapping[str, Any]) -> list[Turn]:
    """A call of the read API as a chat: its `messages` (the prompt then the answer, in
    the OpenAI chat form, tool calls and tool results included) when it has them, else
    its prompt and completion; an error closes it."""
    messages = call.get("messages")
    if not messages:
        return turns(call.get("prompt"), str(call.get("completion") or ""),
                     str(call.get("error_message") or ""))
    out = [message_turn(m) for m in messages]
    error = str(call.get("error_message") or "")
    if error and not call.get("completion"):
        out.append(Turn("assistant", error, masked=masked_kinds(error), error=True))
    return out


def session_turns(calls: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """A session's calls (oldest first) as one conversation: each call's new messages,
    then its answer, which carries the call's trace id, model, time and status."""
    out: list[Turn] = []
    previous: list[Any] = []
    for call in calls:
        messages = _messages(call.get("prompt"))
        if not previous:
            new = messages
        elif _continues(messages, previous):
            new = messages[len(previous):]
        else:  # a fresh prompt: its last message is what the user said now
            new = [m for m in messages if _role(m) != "system"][-1:]
        out += [message_turn(m) for m in new]
        meta = {k: call.get(k) for k in ("trace_id", "model", "start_time", "status")}
        completion = str(call.get("completion") or "")
        error = str(call.get("error_message") or "")
        text = completion or error
        out.append(Turn("assistant", text, masked=masked_kinds(text),
                        error=not completion and bool(error), meta=meta))
        previous = [*messages, {"role": "assistant", "content": completion}]
    return out


def _role(message: Any) -> str:
    return str(message.get("role")) if isinstance(message, Mapping) else "user"


def _continues(messages: Sequence[Any], previous: Sequence[Any]) -> bool:
    """Whether ``messages`` starts with ``previous`` (the conversation went on)."""
    if not previous or len(messages) <= len(previous):
        return False
    return all(_same(a, b) for a, b in zip(messages, previous, strict=False))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return _role(a) == _role(b) and _text(a.get("content"))[0] == _text(b.get("content"))[0]
    return bool(a == b)


@dataclass(frozen=True, slots=True)
class SpanRow:
    span_id: str
    name: str
    depth: int
    offset_ms: float  # start after the trace's first span
    duration_ms: float
    status: str


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def span_rows(spans: Sequence[Mapping[str, Any]]) -> list[SpanRow]:
    """Spans depth-first from their roots (a span whose parent is not in the trace, or is
    itself, is a root), children in start order; each span once."""
    ids = {str(s.get("span_id")) for s in spans}
    children: dict[str, list[Mapping[str, Any]]] = {}
    for s in spans:
        parent = str(s.get("parent_span_id") or "")
        root = parent not in ids or parent == str(s.get("span_id"))
        children.setdefault("" if root else parent, []).append(s)
    starts = [t for s in spans if (t := _time(s.get("start_time"))) is not None]
    first = min(starts) if starts else None
    rows: list[SpanRow] = []
    seen: set[str] = set()

    def visit(parent: str, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda s: str(s.get("start_time"))):
            span_id = str(s.get("span_id"))
            if span_id in seen:  # a cycle of parents: show each span once
                continue
            seen.add(span_id)
            start = _time(s.get("start_time"))
            offset = (start - first).total_seconds() * 1000 if start and first else 0.0
            rows.append(SpanRow(span_id, str(s.get("name") or ""), depth, offset,
                                float(s.get("duration_ms") or 0.0), str(s.get("status") or "")))
            visit(span_id, depth + 1)

    visit("", 0)
    return rows
