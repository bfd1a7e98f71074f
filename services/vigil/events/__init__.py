"""Typed events that flow between the stages.

Protobuf types stop at the ingest boundary (and at the raw topic, which is a
wire contract too); from there on a stage sees these models only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TraceStatus = Literal["ok", "error"]
FeedbackKind = Literal["thumbs", "score", "text"]


@dataclass(slots=True)
class ToolCall:
    """A tool call the model asked for: its id (which a tool result names), the tool's
    name and the arguments as the model wrote them (JSON text, usually)."""

    id: str
    name: str
    arguments: str = ""


@dataclass(slots=True)
class ChatMessage:
    """One message: its role and text; an assistant's tool calls; a tool result's call id
    (its content is the result)."""

    role: str
    content: str
    name: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""


@dataclass(slots=True)
class TraceEvent:
    """One LLM call as the app reported it, with the project its key belongs to."""

    event_id: str
    trace_id: str
    project_id: str
    app: str
    start_time: datetime
    end_time: datetime
    model: str
    span_id: str = ""
    parent_span_id: str = ""
    session_id: str = ""
    user_id: str = ""
    environment: str = ""
    provider: str = ""
    params: dict[str, object] = field(default_factory=dict)
    prompt: list[ChatMessage] = field(default_factory=list)
    completion: str = ""
    completion_tool_calls: list[ToolCall] = field(default_factory=list)
    tool_definitions: str = ""  # the tools offered to the model, a JSON array as sent
    finish_reason: str = ""
    prompt_template_id: str = ""
    prompt_template_version: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    status: TraceStatus = "ok"
    error_type: str = ""
    error_message: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    received_at: datetime | None = None


@dataclass(slots=True)
class Cost:
    """What one call cost in USD; `known` is False when no price exists for the model."""

    input_usd: float = 0.0
    output_usd: float = 0.0
    total_usd: float = 0.0
    known: bool = False
    source: Literal["genai-prices", "override", "none"] = "none"


@dataclass(slots=True)
class TokenCounts:
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    estimated: bool


@dataclass(slots=True)
class EnrichedTrace:
    """A trace event after the enrich stage: masked text, tokens, cost, latency."""

    event: TraceEvent
    tokens: TokenCounts
    cost: Cost
    latency_ms: float
    pii_masked: dict[str, int] = field(default_factory=dict)
    raw_partition: int = -1
    raw_offset: int = -1


@dataclass(slots=True)
class FeedbackEvent:
    feedback_id: str
    trace_id: str
    project_id: str
    kind: FeedbackKind
    value: float
    time: datetime
    comment: str = ""
    user_id: str = ""
    received_at: datetime | None = None
