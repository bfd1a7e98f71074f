"""Built-in evaluators: offline heuristics, no network, microseconds per trace.

Contract: an evaluator has a `name`, a `version` and `evaluate(item) ->
Judgment | None` (`base.Evaluator`). A judgment scores 1.0 (good) or 0.0 (bad)
with a short label and a one-line rationale. `None` means "no judgment for this
trace": the evaluator does not apply (JSON was not requested, the trace is an
error, there is no completion) or cannot tell (the text is too short to know its
language, the length baseline is still warming up). The runner simply leaves it
out; no evaluator ever makes up a score it cannot back (no "not_applicable"
judgments). Returning None, rather than a separate `applies()`, lets an
evaluator that must look at the text to know (the language one) do so once, and
lets a stateful one record a sample while it judges nothing. Builtins cost
nothing and leave `latency_ms` at 0.

One evaluator per module, each module's docstring saying what it flags:
`empty_answer`, `refusal`, `invalid_json`, `pii_leak`, `language_mismatch`,
`length_outlier` (stateful: one instance per worker).

`BUILTIN_EVALUATORS` are the classes; `make_evaluators(names)` builds fresh
instances (the length baseline is per instance); `run_builtin(item,
evaluators)` returns the judgments of those that apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vigil.judge.evaluators.base import Evaluator
from vigil.judge.evaluators.empty_answer import EmptyAnswer
from vigil.judge.evaluators.invalid_json import InvalidJson, requested_json
from vigil.judge.evaluators.language_mismatch import LanguageMismatch, detect_language
from vigil.judge.evaluators.length_outlier import LengthOutlier
from vigil.judge.evaluators.pii_leak import PiiLeak
from vigil.judge.evaluators.refusal import Refusal
from vigil.judge.model import JudgeInput, Judgment

BUILTIN_EVALUATORS: tuple[type[Evaluator], ...] = (
    EmptyAnswer, Refusal, InvalidJson, PiiLeak, LanguageMismatch, LengthOutlier,
)
_BY_NAME = {cls.name: cls for cls in BUILTIN_EVALUATORS}


def make_evaluators(names: Iterable[str] | None = None) -> list[Evaluator]:
    """Fresh instances of the named builtins (all when None), in the given order.

    Raises ValueError naming an unknown evaluator (a typo must not disable one)."""
    chosen = list(_BY_NAME) if names is None else list(names)
    unknown = [n for n in chosen if n not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown evaluators {unknown}; known: {sorted(_BY_NAME)}")
    return [_BY_NAME[n]() for n in chosen]


def run_builtin(item: JudgeInput, evaluators: Sequence[Evaluator]) -> list[Judgment]:
    """The judgments of the evaluators that apply to `item`, in evaluator order."""
    return [j for e in evaluators if (j := e.evaluate(item)) is not None]


__all__ = [
    "BUILTIN_EVALUATORS", "EmptyAnswer", "Evaluator", "InvalidJson", "LanguageMismatch",
    "LengthOutlier", "PiiLeak", "Refusal", "detect_language", "make_evaluators",
    "requested_json", "run_builtin",
]
