"""Conversions at the edges of the stages: protobuf -> typed events, and the
payload of the enriched traces topic: one flat JSON object per line, keys named
like the `traces` table columns (schemas/topics/traces.enriched.schema.json)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from vigil.core.errors import PermanentError
from vigil.events import ChatMessage, EnrichedTrace, FeedbackEvent, ToolCall, TraceEvent
from vigil_protos.v1 import events_pb2 as pb

_FEEDBACK_KINDS = {
    pb.FEEDBACK_KIND_THUMBS: "thumbs", pb.FEEDBACK_KIND_SCORE: "score",
    pb.FEEDBACK_KIND_TEXT: "text",
}


class PayloadError(PermanentError):
    """A record that cannot be decoded: permanent, it goes to the dead-letter topic."""


def to_datetime(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, UTC)


def decode_trace_batch(value: bytes | None) -> pb.TraceBatch:
    if not value:
        raise PayloadError("empty record")
    batch = pb.TraceBatch()
    try:
        batch.ParseFromString(value)
    except Exception as exc:  # protobuf raises DecodeError and, on some inputs, others
        raise PayloadError(f"not a vigil.v1.TraceBatch: {exc}") from exc
    if not batch.project_id:
        raise PayloadError("TraceBatch.project_id is empty")
    return batch


JSON_TYPES = ("application/json", "json")


def decode_app_event(value: bytes | None, content_type: str = "") -> pb.TraceEvent:
    """One TraceEvent produced straight to Kafka by an app: protobuf (the default) or the
    protobuf JSON mapping when the `content-type` header says JSON."""
    if not value:
        raise PayloadError("empty record")
    event = pb.TraceEvent()
    if content_type.split(";")[0].strip().lower() in JSON_TYPES:
        try:
            json_format.Parse(value, event)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise PayloadError(f"not a vigil.v1.TraceEvent in JSON: {exc}") from exc
        return event
    try:
        event.ParseFromString(value)
    except Exception as exc:
        raise PayloadError(f"not a vigil.v1.TraceEvent in protobuf: {exc} (send JSON with "
                           "the header content-type: application/json)") from exc
    return event


def trace_from_proto(e: pb.TraceEvent, project_id: str, received_at: datetime) -> TraceEvent:
    params: dict[str, object] = {}
    p = e.params
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        if p.HasField(name):
            params[name] = getattr(p, name)
    if p.stop:
        params["stop"] = list(p.stop)
    if p.response_format:
        params["response_format"] = p.response_format
    return TraceEvent(
        event_id=e.event_id, trace_id=e.trace_id, project_id=project_id, app=e.app,
        start_time=to_datetime(e.start_time), end_time=to_datetime(e.end_time), model=e.model,
        span_id=e.span_id, parent_span_id=e.parent_span_id, session_id=e.session_id,
        user_id=e.user_id, environment=e.environment, provider=e.provider, params=params,
        prompt=[ChatMessage(m.role, m.content, m.name, _tool_calls(m.tool_calls),
                            m.tool_call_id) for m in e.prompt],
        completion=e.completion, completion_tool_calls=_tool_calls(e.completion_tool_calls),
        tool_definitions=e.tool_definitions, finish_reason=e.finish_reason,
        prompt_template_id=e.prompt_template_id,
        prompt_template_version=e.prompt_template_version,
        input_tokens=e.input_tokens if e.HasField("input_tokens") else None,
        output_tokens=e.output_tokens if e.HasField("output_tokens") else None,
        cached_input_tokens=e.cached_input_tokens if e.HasField("cached_input_tokens") else None,
        status="error" if e.status == pb.TRACE_STATUS_ERROR else "ok",
        error_type=e.error_type, error_message=e.error_message,
        attributes=dict(e.attributes), received_at=received_at,
    )


def _tool_calls(calls: Iterable[pb.ToolCall]) -> list[ToolCall]:
    return [ToolCall(c.id, c.name, c.arguments) for c in calls]


def decode_feedback(value: bytes | None) -> FeedbackEvent:
    if not value:
        raise PayloadError("empty record")
    record = pb.FeedbackRecord()
    try:
        record.ParseFromString(value)
    except Exception as exc:
        raise PayloadError(f"not a vigil.v1.FeedbackRecord: {exc}") from exc
    f = record.feedback
    if not record.project_id or not f.trace_id or not f.feedback_id:
        raise PayloadError("FeedbackRecord needs project_id, feedback.trace_id, feedback_id")
    if f.kind not in _FEEDBACK_KINDS:
        raise PayloadError(f"unknown feedback kind {f.kind}")
    return feedback_from_proto(f, record.project_id, to_datetime(record.received_at))


def feedback_from_proto(f: pb.FeedbackEvent, project_id: str, received_at: datetime
                        ) -> FeedbackEvent:
    """A validated FeedbackEvent (known kind, ids set) as the typed event."""
    return FeedbackEvent(
        feedback_id=f.feedback_id, trace_id=f.trace_id, project_id=project_id,
        kind=_FEEDBACK_KINDS[f.kind], value=f.value, time=to_datetime(f.time),  # type: ignore[arg-type]
        comment=f.comment, user_id=f.user_id, received_at=received_at,
    )


def enriched_record(t: EnrichedTrace) -> dict[str, Any]:
    """The flat JSON record of one enriched trace (keys = `traces` columns)."""
    e = t.event
    return {
        "project_id": e.project_id, "start_time": e.start_time.isoformat(),
        "end_time": e.end_time.isoformat(), "event_id": e.event_id, "trace_id": e.trace_id,
        "span_id": e.span_id, "parent_span_id": e.parent_span_id, "session_id": e.session_id,
        "user_id": e.user_id, "app": e.app, "environment": e.environment,
        "provider": e.provider, "model": e.model,
        "params": orjson.dumps(e.params).decode(),
        "prompt": orjson.dumps([_stored_message(m) for m in e.prompt]).decode(),
        "completion": e.completion,
        "completion_tool_calls": orjson.dumps(e.completion_tool_calls).decode(),
        "tool_definitions": e.tool_definitions, "finish_reason": e.finish_reason,
        "prompt_template_id": e.prompt_template_id,
        "prompt_template_version": e.prompt_template_version,
        "input_tokens": t.tokens.input_tokens, "output_tokens": t.tokens.output_tokens,
        "cached_input_tokens": t.tokens.cached_input_tokens,
        "tokens_estimated": t.tokens.estimated,
        "input_cost": t.cost.input_usd, "output_cost": t.cost.output_usd,
        "total_cost": t.cost.total_usd, "cost_known": t.cost.known,
        "price_source": t.cost.source, "latency_ms": t.latency_ms, "status": e.status,
        "error_type": e.error_type, "error_message": e.error_message,
        "attributes": e.attributes, "pii_masked": t.pii_masked,
        "received_at": (e.received_at or e.end_time).isoformat(),
        "raw_partition": t.raw_partition, "raw_offset": t.raw_offset,
    }


def _stored_message(m: ChatMessage) -> dict[str, Any]:
    """A prompt message in the `prompt` column: role, content, name, and its tool calls or
    tool-result call id only when it has them (so plain messages read as before)."""
    out: dict[str, Any] = {"role": m.role, "content": m.content, "name": m.name}
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments}
                             for c in m.tool_calls]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    return out


def encode_enriched_batch(records: list[dict[str, Any]]) -> bytes:
    """One JSON object per line (ClickHouse's JSONEachRow): the sink hands the lines to
    ClickHouse as they are, and records of several Kafka messages simply concatenate."""
    return b"\n".join(orjson.dumps(r) for r in records)


def decode_enriched_batch(value: bytes | None) -> list[tuple[bytes, dict[str, Any]]]:
    """Each line of an enriched record with its parsed object."""
    if not value:
        raise PayloadError("empty record")
    decoded = []
    for number, line in enumerate(value.split(b"\n"), start=1):
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"line {number} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise PayloadError(f"line {number} is not a JSON object")
        decoded.append((line, doc))
    return decoded
