"""Retraining tickets: the analyzer's ticket type and its dataset's export formats.

Tickets travel as JSON objects on the `<prefix>tickets` topic and are stored in the
`tickets` table; the read API serves their examples as a chat fine-tuning JSONL or
a CSV. Times are ISO 8601 strings in UTC.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vigil.core.alerts import Signal
from vigil.core.conversation import answer_message, chat_message, chat_tools

TicketStatus = Literal["open", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True)
class TicketExample:
    trace_id: str
    event_id: str
    prompt: list[dict[str, Any]]   # stored messages (role, content, tool_calls, tool_call_id)
    completion: str                # PII masked
    score: float | None            # lowest judge score of the trace, if judged
    feedback: str                  # e.g. "thumbs down: wrong order number"
    start_time: str
    completion_tool_calls: list[dict[str, Any]] = field(default_factory=list)  # the answer's
    tool_definitions: str = ""     # the tools offered to the model, JSON as stored


@dataclass(frozen=True, slots=True)
class Ticket:
    """A retraining ticket: a persistent quality problem or drift, with its evidence."""

    ticket_id: str           # stable per (project, signal, slice) occurrence
    dedupe_key: str          # "<project>:<signal>:<slice>": one open ticket per key
    status: TicketStatus
    project_id: str
    signal: Signal
    title: str
    description: str         # markdown: what changed, where, since when, evidence
    slice: dict[str, str]
    window_start: str
    window_end: str
    before: dict[str, float]  # metrics of the reference window
    after: dict[str, float]   # metrics of the current window
    drift_report: dict[str, Any]  # per-feature test results (statistic, p-value, drifted)
    examples: list[TicketExample]  # the worst examples (a handful)
    dataset_size: int         # traces in the candidate dataset
    opened_at: str
    updated_at: str
    reopened: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def finetune_jsonl(examples: Iterable[TicketExample]) -> str:
    """OpenAI chat fine-tuning JSONL: one {"messages": [...]} per trace, the answer last;
    assistant tool calls as `tool_calls`, tool results as `tool` messages with their
    `tool_call_id`, and the tools offered as `tools` when the trace has them. Messages with
    nothing in them are left out, and traces without an answer."""
    lines = []
    for ex in examples:
        messages = [chat_message(m) for m in ex.prompt
                    if m.get("role") in ("system", "user", "assistant", "tool")
                    and (m.get("content") or m.get("tool_calls"))]
        answer = answer_message(ex.completion, ex.completion_tool_calls)
        if not messages or answer is None:
            continue
        doc: dict[str, Any] = {"messages": [*messages, answer]}
        if tools := chat_tools(ex.tool_definitions):
            doc["tools"] = tools
        lines.append(json.dumps(doc, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")


def dataset_csv(examples: Iterable[TicketExample]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trace_id", "event_id", "start_time", "score", "feedback", "prompt",
                     "completion"])
    for ex in examples:
        writer.writerow([ex.trace_id, ex.event_id, ex.start_time,
                         "" if ex.score is None else ex.score, ex.feedback,
                         json.dumps(ex.prompt, ensure_ascii=False), ex.completion])
    return out.getvalue()
