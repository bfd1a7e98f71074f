"""OTLP log records -> the parts of LLM calls they carry (pure).

The GenAI conventions send a call's messages and its evaluations as log records tied to
the call's span by trace and span id: `gen_ai.client.inference.operation.details`
(input/output messages and system instructions as attributes), the older
`gen_ai.{system,user,assistant,tool}.message` and `gen_ai.choice` (one message per record,
in the body), and `gen_ai.evaluation.result` (name, score value and label, explanation).
A message record becomes a `call_logs` row (the call's messages, PII masked when asked);
an evaluation becomes a `scores` row beside the judge's, marked as sent by the app
(`sample_reason` and `evaluator_version` "app"). The read API joins the rows to the
call's `traces` row by event id (`<trace id>-<span id>`) when it reads, so the order and
delay of spans and logs do not matter and neither is written twice. Any other record
(application logs, records without a span) is counted and dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from vigil.events.validate import Violation
from vigil.ingest import otlp_messages
from vigil.ingest.otlp_messages import Conversation
from vigil.ingest.otlp_values import InvalidSpan, attributes, number, text, value_of
from vigil_protos.v1 import events_pb2 as pb

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
EVALUATION_EVENT = "gen_ai.evaluation.result"
Masker = Callable[[str], str]


@dataclass(slots=True)
class LogMapping:
    call_logs: list[dict[str, Any]] = field(default_factory=list)  # rows, no project yet
    scores: list[dict[str, Any]] = field(default_factory=list)     # rows, no project yet
    dropped: int = 0  # records that are not GenAI messages or evaluations of a span
    rejected: list[str] = field(default_factory=list)  # "log record N: <field> <reason>"


def map_logs(request: ExportLogsServiceRequest, max_depth: int, now: datetime,
             mask: Masker = lambda s: s) -> LogMapping:
    out = LogMapping()
    index = 0
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                try:
                    _map_into(out, record, index, resource, max_depth, now, mask)
                except InvalidSpan as exc:
                    out.rejected.append(f"log record {index}: {exc.violation.field} "
                                        f"{exc.violation.reason}")
                except Exception as exc:  # one unreadable record must not fail the others
                    out.rejected.append(f"log record {index}: could not be read "
                                        f"({type(exc).__name__}: {exc})")
                index += 1
    return out


def event_name(record: LogRecord, a: dict[str, Any]) -> str:
    return record.event_name or str(a.get("event.name") or "")


def _map_into(out: LogMapping, record: LogRecord, index: int, resource: dict[str, Any],
              max_depth: int, now: datetime, mask: Masker) -> None:
    a = attributes(record.attributes)
    name = event_name(record, a)
    if len(record.trace_id) != 16 or len(record.span_id) != 8 or not any(record.span_id) \
            or not name.startswith("gen_ai."):
        out.dropped += 1
        return
    trace_id, span_id = record.trace_id.hex(), record.span_id.hex()
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    at = datetime.fromtimestamp(nanos / 1e9, UTC) if nanos else now
    uid = hashlib.sha256(record.trace_id + record.span_id + index.to_bytes(4, "big")
                         + record.SerializeToString(deterministic=True)).hexdigest()[:32]
    base = {"trace_id": trace_id, "span_id": span_id, "event_id": f"{trace_id}-{span_id}",
            "app": str(resource.get("service.name") or "unknown_service"),
            "environment": str(resource.get("deployment.environment.name")
                               or resource.get("deployment.environment") or "")}
    if name == EVALUATION_EVENT:
        out.scores.append(_score_row(base, a, uid, at))
        return
    talk = Conversation()
    if name == DETAILS_EVENT:
        talk = otlp_messages.semconv(a, max_depth)
    else:
        body = value_of(record.body)
        if not isinstance(body, dict):
            body = {"content": body} if body not in (None, "") else {}
        if not otlp_messages.add_event(talk, name, body, max_depth):
            out.dropped += 1
            return
    definitions = a.get("gen_ai.tool.definitions")
    out.call_logs.append({
        **base, "time": at.isoformat(), "log_uid": uid, "seq": index, "event_name": name[:256],
        "prompt": json.dumps([_message_row(m, mask) for m in talk.prompt], ensure_ascii=False),
        "completion": mask(talk.completion),
        "completion_tool_calls": json.dumps([_call_row(c, mask) for c in talk.tool_calls],
                                            ensure_ascii=False),
        "finish_reason": talk.finish_reason[:256],
        "tool_definitions": "" if definitions in (None, "", []) else text(definitions),
    })


def _message_row(m: pb.Message, mask: Masker) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": mask(m.content), "name": m.name}
    if m.tool_calls:
        out["tool_calls"] = [_call_row(c, mask) for c in m.tool_calls]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    return out


def _call_row(c: pb.ToolCall, mask: Masker) -> dict[str, str]:
    return {"id": c.id, "name": c.name, "arguments": mask(c.arguments)}


def _score_row(base: dict[str, Any], a: dict[str, Any], uid: str, at: datetime
               ) -> dict[str, Any]:
    evaluator = str(a.get("gen_ai.evaluation.name") or "")
    if not evaluator:
        raise InvalidSpan(Violation("gen_ai.evaluation.name", "is required"))
    score = number(a.get("gen_ai.evaluation.score.value"))
    return {
        "trace_start_time": at.isoformat(), "score_id": f"{base['event_id']}:app:{uid}",
        "trace_id": base["trace_id"], "event_id": base["event_id"], "app": base["app"],
        "environment": base["environment"],
        "model": str(a.get("gen_ai.request.model") or a.get("gen_ai.response.model") or ""),
        "prompt_template_id": "", "prompt_template_version": "", "evaluator": evaluator[:256],
        "evaluator_version": "app", "score": score,
        "label": str(a.get("gen_ai.evaluation.score.label") or "")[:256],
        "rationale": str(a.get("gen_ai.evaluation.explanation") or "")[:4096],
        "error": str(a.get("error.type") or ""), "sample_reason": "app", "judge_model": "",
        "judge_cost": 0.0, "judge_latency_ms": 0.0, "judge_input_tokens": 0,
        "judge_output_tokens": 0, "judged_at": at.isoformat(),
    }
