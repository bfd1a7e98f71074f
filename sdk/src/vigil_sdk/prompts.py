"""Prompts from Vigil's registry as the app uses them: ``client.get_prompt(...)`` returns a
:class:`Prompt`; ``prompt.compile(**variables)`` fills its ``{{variable}}`` placeholders.

A prompt knows where it came from: its name, version, label and, while a rollout runs,
its variant (``"control"`` or ``"candidate"``; ``""`` outside the split) and rollout id.
What ``compile()`` returns (a list of message dicts, or a str for a text template)
carries that origin too, so an event recorded with those messages as its prompt (by
``record(prompt=...)``, ``llm_call`` or a wrapped OpenAI client) is linked to the prompt
version by itself; ``record(prompt_template=prompt)`` links it explicitly.

``compile()`` never raises: a placeholder without a value stays as it is
(``{{name}}``), so a new version with a new variable cannot break a running app;
``prompt.variables`` lists them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil_protos.v1 import prompts_pb2

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
VARIANT_ATTRIBUTE = "vigil.prompt.variant"
ROLLOUT_ATTRIBUTE = "vigil.prompt.rollout_id"
LABEL_ATTRIBUTE = "vigil.prompt.label"
FALLBACK_ATTRIBUTE = "vigil.prompt.fallback"


@dataclass(frozen=True, slots=True)
class PromptContent:
    """One version's content as delivered."""

    name: str
    version: int
    kind: str  # "chat" or "text"
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    template: str = ""
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, v: prompts_pb2.PromptVersion) -> PromptContent:
        params = json.loads(v.params_json) if v.params_json else {}
        return cls(v.name, v.version, v.kind or "chat",
                   tuple((m.role, m.content) for m in v.messages), v.template, v.model,
                   params if isinstance(params, dict) else {})


class CompiledMessages(list):  # type: ignore[type-arg]
    """The messages of a compiled chat prompt: a plain list of {role, content} dicts that
    also remembers its prompt (``.vigil_prompt``)."""

    vigil_prompt: Prompt | None = None


class CompiledText(str):
    """The text of a compiled text prompt, remembering its prompt (``.vigil_prompt``)."""

    vigil_prompt: Prompt | None = None


class Prompt:
    """A prompt version as served to this caller (or the app's fallback)."""

    __slots__ = ("_content", "is_fallback", "label", "rollout_id", "variant")

    def __init__(self, content: PromptContent, label: str, variant: str = "",
                 rollout_id: str = "", is_fallback: bool = False) -> None:
        self._content = content
        self.label = label
        self.variant = variant
        self.rollout_id = rollout_id
        self.is_fallback = is_fallback

    @property
    def name(self) -> str:
        return self._content.name

    @property
    def version(self) -> int:
        """The version number; 0 for a fallback the app supplied."""
        return self._content.version

    @property
    def model(self) -> str:
        return self._content.model

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._content.params)

    @property
    def messages(self) -> list[dict[str, str]]:
        """The messages with their placeholders (compile() fills them)."""
        return [{"role": r, "content": c} for r, c in self._content.messages]

    @property
    def template(self) -> str | None:
        return self._content.template if self._content.kind == "text" else None

    @property
    def variables(self) -> list[str]:
        texts = ([self._content.template] if self._content.kind == "text"
                 else [c for _, c in self._content.messages])
        seen: dict[str, None] = {}
        for text in texts:
            for match in _VARIABLE.finditer(text):
                seen.setdefault(match.group(1), None)
        return list(seen)

    def compile(self, **variables: Any) -> CompiledMessages | CompiledText:
        """The messages (a list of {role, content}) or the text with the variables filled
        in; placeholders without a value are left as they are. Never raises."""
        def fill(text: str) -> str:
            return _VARIABLE.sub(
                lambda m: str(variables[m.group(1)]) if m.group(1) in variables
                else m.group(0), text)

        out: CompiledMessages | CompiledText
        if self._content.kind == "text":
            out = CompiledText(fill(self._content.template))
        else:
            out = CompiledMessages({"role": r, "content": fill(c)}
                                   for r, c in self._content.messages)
        out.vigil_prompt = self
        return out

    def link(self) -> tuple[str, str, dict[str, str]]:
        """What an event recorded with this prompt carries: template id (the name),
        version, and attributes (label, variant, rollout id)."""
        attributes = {LABEL_ATTRIBUTE: self.label}
        if self.variant:
            attributes[VARIANT_ATTRIBUTE] = self.variant
            attributes[ROLLOUT_ATTRIBUTE] = self.rollout_id
        if self.is_fallback:
            attributes[FALLBACK_ATTRIBUTE] = "true"
        return self.name, str(self.version) if self.version else "", attributes

    def __repr__(self) -> str:
        variant = f", variant={self.variant!r}" if self.variant else ""
        return (f"Prompt({self.name!r}, version={self.version}, label={self.label!r}"
                f"{variant}{', fallback' if self.is_fallback else ''})")


def fallback_prompt(name: str, label: str, fallback: Any) -> Prompt | None:
    """The app's fallback as a Prompt: a str (a text template), or messages (a list of
    {role, content} dicts), or a Prompt; None when there is none."""
    if fallback is None:
        return None
    if isinstance(fallback, Prompt):
        return fallback
    if isinstance(fallback, str):
        return Prompt(PromptContent(name, 0, "text", template=fallback), label,
                      is_fallback=True)
    messages = tuple((str(m["role"]), str(m["content"])) for m in fallback)
    return Prompt(PromptContent(name, 0, "chat", messages=messages), label, is_fallback=True)


def origin_of(prompt: Any) -> Prompt | None:
    """The prompt that compiled `prompt` (record()'s prompt argument), if any."""
    found = getattr(prompt, "vigil_prompt", None)
    return found if isinstance(found, Prompt) else None
