"""What every built-in evaluator is: a `name`, a `version` and `evaluate(item) ->
Judgment | None` (None: no judgment for this trace; see the package docstring)."""

from __future__ import annotations

from typing import Protocol

from vigil.judge.model import JudgeInput, Judgment

VERSION = "1"


class Evaluator(Protocol):
    name: str
    version: str

    def evaluate(self, item: JudgeInput) -> Judgment | None: ...


def judged(evaluator: Evaluator, good: bool, label: str, rationale: str) -> Judgment:
    """A builtin's verdict: 1.0 (good) or 0.0 (bad), a short label, a one-line rationale."""
    return Judgment(evaluator.name, evaluator.version, 1.0 if good else 0.0, label, rationale)
