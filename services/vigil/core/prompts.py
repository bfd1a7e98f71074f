"""Prompts of the registry: their content, versions and label moves, and `{{variable}}` compile.

A prompt has a name and immutable, consecutive versions. A version holds either chat
messages or a text template, with `{{variable}}` placeholders, plus the model and its
parameters (temperature, max_tokens, response_format, tools, ...). Labels
(`production`, `staging`, any name) point at a version; every move of a label is a
`LabelMove` row, and the current pointers are derived from those moves
(vigil.core.prompt_history). These are the types the registry's API, its CLI and later
the delivery service and the SDK share. Times are ISO 8601 strings in UTC.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"  # no '@' or ':': NAME@V, NAME:LABEL
LATEST = "latest"  # not a stored label: the newest version of a prompt
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_MESSAGES = 200
MAX_TEXT_CHARS = 200_000
_NAME = re.compile(NAME_PATTERN)
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_PARAM_CHECKS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "temperature": ((int, float), "a number"),
    "top_p": ((int, float), "a number"),
    "max_tokens": (int, "an integer"),
    "seed": (int, "an integer"),
    "response_format": ((dict, str), "an object or a string"),
    "tools": (list, "a list"),
    "stop": ((list, str), "a string or a list of strings"),
}
PromptKind = Literal["chat", "text"]
MoveReason = Literal["label", "rollback"]


class PromptError(ValueError):
    """Bad prompt input (a name, a file, a missing variable): the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class PromptContent:
    """What a version holds; its hash decides whether a push is a new version."""

    messages: tuple[ChatMessage, ...] = ()
    template: str | None = None
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> PromptKind:
        return "text" if self.template is not None else "chat"

    def canonical(self) -> bytes:
        return orjson.dumps({"kind": self.kind, "messages": [asdict(m) for m in self.messages],
                             "template": self.template, "model": self.model,
                             "params": dict(self.params)}, option=orjson.OPT_SORT_KEYS)

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def variables(self) -> list[str]:
        """The placeholder names, in order of first appearance."""
        texts = [self.template] if self.template is not None else [
            m.content for m in self.messages]
        seen: dict[str, None] = {}
        for text in texts:
            for match in _VARIABLE.finditer(text or ""):
                seen.setdefault(match.group(1), None)
        return list(seen)

    def compile(self, **variables: Any) -> list[dict[str, str]] | str:
        """The messages (or the text) with every `{{variable}}` filled in; PromptError naming
        the missing ones. Extra variables are ignored."""
        missing = [v for v in self.variables() if v not in variables]
        if missing:
            raise PromptError(f"missing variable{'s' * (len(missing) > 1)} "
                              f"{', '.join(repr(v) for v in missing)}: pass "
                              f"{', '.join(f'{v}=...' for v in missing)} to compile()")

        def fill(text: str) -> str:
            return _VARIABLE.sub(lambda m: str(variables[m.group(1)]), text)

        if self.template is not None:
            return fill(self.template)
        return [{"role": m.role, "content": fill(m.content)} for m in self.messages]


@dataclass(frozen=True, slots=True)
class PromptVersion:
    project_id: str
    name: str
    version: int  # 1, 2, 3, ... per (project, name), never reused
    content: PromptContent
    commit_message: str
    pushed_by: str  # the name of the API key that pushed it
    pushed_at: str
    content_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "kind": self.content.kind,
                "messages": [asdict(m) for m in self.content.messages],
                "template": self.content.template, "model": self.content.model,
                "params": dict(self.content.params), "variables": self.content.variables(),
                "commit_message": self.commit_message, "pushed_by": self.pushed_by,
                "pushed_at": self.pushed_at, "content_hash": self.content_hash}


@dataclass(frozen=True, slots=True)
class LabelMove:
    project_id: str
    name: str
    seq: int           # 1, 2, 3, ... per (project, name), across its labels: the order
    label: str
    from_version: int  # 0: the label did not exist before this move
    to_version: int
    by: str            # the name of the API key that moved it
    at: str
    reason: MoveReason = "label"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "label": self.label, "from_version": self.from_version or None,
                "to_version": self.to_version, "by": self.by, "at": self.at,
                "reason": self.reason}


def check_name(value: str, what: str = "prompt name") -> str:
    if not _NAME.match(value):
        raise PromptError(f"{what} {value!r:.80} is not 1-128 letters, digits, '.', '_' or '-' "
                          "(starting with a letter or digit)")
    return value


def check_label(value: str) -> str:
    check_name(value, "label")
    if value == LATEST:
        raise PromptError(f"'{LATEST}' always means the newest version; pick another label")
    return value


def parse_content(doc: Mapping[str, Any]) -> PromptContent:
    """A prompt file's document (`messages: [{role, content}]` or `template:`, optional
    `model:` and `params:`) as content; PromptError saying what is wrong."""
    if not isinstance(doc, Mapping):
        raise PromptError("a prompt is an object with 'messages' (or 'template'), and "
                          "optionally 'model' and 'params'")
    unknown = set(doc) - {"messages", "template", "model", "params"}
    if unknown:
        raise PromptError(f"unknown field{'s' * (len(unknown) > 1)} "
                          f"{', '.join(sorted(map(str, unknown)))}: a prompt has messages "
                          "(or template), model and params")
    has_messages, has_template = doc.get("messages") is not None, doc.get("template") is not None
    if has_messages == has_template:
        raise PromptError("give either 'messages' (a list of {role, content}) or 'template' "
                          "(a text), not both and not neither")
    model = doc["model"] if doc.get("model") is not None else ""
    if not isinstance(model, str) or len(model) > 256:
        raise PromptError("'model' must be a string of at most 256 characters")
    params = _params(doc["params"] if doc.get("params") is not None else {})
    if has_template:
        template = doc["template"]
        if not isinstance(template, str) or not template.strip():
            raise PromptError("'template' must be a non-empty text")
        _check_length("template", template)
        return PromptContent(template=template, model=model, params=params)
    return PromptContent(messages=_messages(doc["messages"]), model=model, params=params)


def _messages(value: Any) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list) or not value:
        raise PromptError("'messages' must be a non-empty list of {role, content}")
    if len(value) > MAX_MESSAGES:
        raise PromptError(f"at most {MAX_MESSAGES} messages")
    out = []
    for n, m in enumerate(value):
        if not isinstance(m, Mapping) or set(m) != {"role", "content"}:
            raise PromptError(f"message {n + 1} must have exactly 'role' and 'content'")
        if m["role"] not in ROLES:
            raise PromptError(f"message {n + 1}: role {m['role']!r:.40} is not one of "
                              f"{', '.join(sorted(ROLES))}")
        if not isinstance(m["content"], str):
            raise PromptError(f"message {n + 1}: content must be a text")
        _check_length(f"message {n + 1}", m["content"])
        out.append(ChatMessage(m["role"], m["content"]))
    return tuple(out)


def _params(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PromptError("'params' must be an object (temperature, max_tokens, ...)")
    for key, (types, wanted) in _PARAM_CHECKS.items():
        if key in value and (not isinstance(value[key], types) or isinstance(value[key], bool)):
            raise PromptError(f"params.{key} must be {wanted}")
    for key in ("temperature", "top_p"):
        if key in value and not math.isfinite(value[key]):
            raise PromptError(f"params.{key} must be a finite number")
    if "max_tokens" in value and value["max_tokens"] <= 0:
        raise PromptError("params.max_tokens must be positive")
    try:
        if len(orjson.dumps(dict(value))) > MAX_TEXT_CHARS:
            raise PromptError(f"params are over {MAX_TEXT_CHARS} characters as JSON")
    except TypeError as exc:
        raise PromptError(f"params must be plain JSON values: {exc}") from exc
    return dict(value)


def _check_length(what: str, text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise PromptError(f"{what} is over {MAX_TEXT_CHARS} characters")
