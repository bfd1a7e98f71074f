"""`empty_answer`: the completion is blank (whitespace and zero-width characters only) and
makes no tool call (an answer that only calls a tool is not empty)."""

from __future__ import annotations

from vigil.judge.evaluators.base import VERSION, judged
from vigil.judge.model import JudgeInput, Judgment

_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")


class EmptyAnswer:
    name: str = "empty_answer"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok":
            return None  # a failed call is reported by its status, not as an empty answer
        if item.tool_calls:
            return judged(self, True, "ok", "the answer calls a tool")
        text = item.completion
        if text.strip() and (text.isascii() or text.translate(_INVISIBLE).strip()):
            return judged(self, True, "ok", "the answer has content")
        return judged(self, False, "empty", "the answer is blank")
