"""What an evaluator sees of one trace (`JudgeInput`) and what it says (`Judgment`).

Contract: a `Judgment` either carries a score in [0, 1] (1.0 = good) or, when
the judge itself failed, `error` is set and `score` is None: a judge error
is never turned into a made-up score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class JudgeInput:
    """One trace as the evaluators see it (text already PII-masked by enrich)."""

    trace_id: str
    event_id: str
    project_id: str
    app: str
    model: str
    prompt: list[dict[str, str]]  # [{"role": ..., "content": ...}] (+ "name" when set)
    completion: str
    params: dict[str, object]  # e.g. {"response_format": "json_object"}
    status: str  # "ok" | "error"
    pii_masked: dict[str, int] = field(default_factory=dict)  # kind -> spans enrich masked
    context: str = ""  # retrieved context the app sent (attributes["context"])
    tool_calls: int = 0  # tool calls the answer made (an answer may be only those)

    @classmethod
    def from_enriched(cls, record: Mapping[str, Any]) -> JudgeInput:
        """Build from one enriched trace record (`vigil.events.wire.enriched_record`).

        "prompt" and "params" may be JSON strings (as on the topic) or already
        decoded (as read back from a store). Raises ValueError on a record whose
        prompt or params cannot be read.
        """
        attributes = record.get("attributes") or {}
        return cls(
            trace_id=str(record.get("trace_id", "")),
            event_id=str(record.get("event_id", "")),
            project_id=str(record.get("project_id", "")),
            app=str(record.get("app", "")),
            model=str(record.get("model", "")),
            prompt=_messages(_decoded(record.get("prompt"), "prompt", [])),
            completion=str(record.get("completion") or ""),
            params=_params(_decoded(record.get("params"), "params", {})),
            status=str(record.get("status") or "ok"),
            pii_masked={str(k): int(v) for k, v in (record.get("pii_masked") or {}).items()},
            context=str(attributes.get("context", "")) if isinstance(attributes, Mapping) else "",
            tool_calls=_count(record.get("completion_tool_calls")),
        )

    def last_user_message(self) -> str:
        """The content of the last user message of the prompt ("" when there is none)."""
        for message in reversed(self.prompt):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""


@dataclass(frozen=True, slots=True)
class Judgment:
    """One evaluator's verdict on one trace."""

    evaluator: str
    version: str
    score: float | None  # 0..1, 1.0 = good; None exactly when `error` is set
    label: str = ""
    rationale: str = ""
    judge_model: str = ""
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""  # non-empty: the judge failed; never a made-up score

    def __post_init__(self) -> None:
        if self.error:
            if self.score is not None:
                raise ValueError("a judgment with an error has no score")
        elif self.score is None or not (0.0 <= self.score <= 1.0) or math.isnan(self.score):
            raise ValueError(f"score must be in [0, 1] without an error, got {self.score!r}")


def _decoded(value: object, what: str, empty: object) -> object:
    if value is None or value == "":
        return empty
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{what} is not JSON: {exc}") from exc
    return value


def _count(calls: object) -> int:
    """How many tool calls a record's completion_tool_calls holds (JSON text or a list;
    records of an enrich older than tool calls have none)."""
    if isinstance(calls, str):
        try:
            calls = orjson.loads(calls) if calls else []
        except orjson.JSONDecodeError:
            return 0
    return len(calls) if isinstance(calls, list) else 0


def _messages(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError("prompt is not a list of messages")
    messages = []
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError("prompt is not a list of messages")
        message = {"role": str(item.get("role", "")), "content": str(item.get("content") or "")}
        if item.get("name"):
            message["name"] = str(item["name"])
        messages.append(message)
    return messages


def _params(value: object) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError("params is not a JSON object")
    return dict(value)
