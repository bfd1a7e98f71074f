"""OTLP spans -> Vigil trace events (pure).

Reads the OpenTelemetry GenAI semantic conventions, current and older names
(`gen_ai.provider.name`/`gen_ai.system`, `gen_ai.usage.input_tokens`/
`gen_ai.usage.prompt_tokens`, messages as `gen_ai.input.messages` JSON, as
indexed `gen_ai.prompt.N.*` attributes, or as span events), and the
OpenInference attributes (`llm.*`, `input.value`); messages keep their tool calls and
tool results (vigil.ingest.otlp_messages), the tools offered are kept with the call. A
span is an LLM call when it names a model, a GenAI system or operation, or is an
OpenInference LLM span, and is not an agent, tool or workflow step (`invoke_agent`,
`execute_tool`, ...); other spans are not LLM calls and are kept for the trace's tree
or counted as skipped. The event id
is `<trace id>-<span id>`, so an exporter's retry is stored once. A span whose
ids are not OTLP's, whose JSON nests too deeply, or (kept non-LLM spans) whose
times are out of range is rejected with its reason; the rest of the request is
mapped still.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from vigil.events.validate import Limits, Violation, validate_span_ids, validate_span_times
from vigil.ingest import otlp_messages
from vigil.ingest.otlp_messages import Conversation
from vigil.ingest.otlp_values import InvalidSpan, attributes, number, parse_json, text, whole
from vigil.settings import MAX_JSON_DEPTH
from vigil_protos.v1 import events_pb2 as pb

__all__ = ["InvalidSpan", "SpanMapping", "conversation", "is_llm_span", "map_request",
           "map_span", "span_row"]
_LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion", "embeddings"}
_TREE_OPERATIONS = {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"}
_TREE_KINDS = {"AGENT", "TOOL", "CHAIN", "RETRIEVER", "RERANKER", "GUARDRAIL", "EVALUATOR"}


@dataclass(slots=True)
class SpanMapping:
    events: list[pb.TraceEvent] = field(default_factory=list)
    other_spans: list[dict[str, Any]] = field(default_factory=list)  # `spans` rows, no project
    skipped_non_llm: int = 0
    rejected: list[str] = field(default_factory=list)  # "span <id>: <field> <reason>"


def map_request(request: ExportTraceServiceRequest, limits: Limits, now: datetime,
                keep_other_spans: bool = False) -> SpanMapping:
    """LLM spans as trace events; the other spans as `spans` rows when kept; the spans
    refused, each with its reason."""
    out = SpanMapping()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if problem := _map_into(out, span, resource, limits, now, keep_other_spans):
                    out.rejected.append(
                        f"span {span.span_id.hex()}: {problem.field} {problem.reason}")
    return out


def _map_into(out: SpanMapping, span: Span, resource: dict[str, Any], limits: Limits,
              now: datetime, keep_other_spans: bool) -> Violation | None:
    """Map one span into `out`; the reason when it is refused instead."""
    if problem := validate_span_ids(span):
        return problem
    try:
        event = map_span(span, resource, limits.max_json_depth)
        if event is not None:
            out.events.append(event)  # its times are checked with the event's other fields
        elif not keep_other_spans:
            out.skipped_non_llm += 1
        elif problem := validate_span_times(span, limits, now):
            return problem
        else:
            out.other_spans.append(span_row(span, resource))
    except InvalidSpan as exc:
        return exc.violation
    except Exception as exc:  # one unreadable span must not fail the spans beside it
        return Violation("span", f"could not be read ({type(exc).__name__}: {exc})")
    return None


def span_row(span: Span, resource: dict[str, Any]) -> dict[str, Any]:
    """A span that is not an LLM call, as a `spans` row without its project."""
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
    start, end = _iso(span.start_time_unix_nano), _iso(span.end_time_unix_nano)
    status = {Status.STATUS_CODE_ERROR: "error", Status.STATUS_CODE_OK: "ok"}.get(
        span.status.code, "unset")
    return {
        "start_time": start, "span_uid": f"{trace_id}-{span_id}", "trace_id": trace_id,
        "span_id": span_id, "parent_span_id": span.parent_span_id.hex(), "name": span.name[:512],
        "kind": _kind(span.kind),
        "app": str(resource.get("service.name") or "unknown_service"),
        "environment": str(resource.get("deployment.environment.name")
                           or resource.get("deployment.environment") or ""),
        "end_time": end,
        "duration_ms": max(0, span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        "status": status, "status_message": span.status.message[:2048],
        "attributes": dict(list((k, text(v)[:2048])
                                for k, v in attributes(span.attributes).items())[:64]),
    }


def _kind(kind: int) -> str:
    """Enums are open: a kind this version does not know is stored as unspecified."""
    name = Span.SpanKind.Name(kind) if kind in Span.SpanKind.values() else "UNSPECIFIED"
    return name.removeprefix("SPAN_KIND_").lower()


def _iso(unix_nano: int) -> str:
    return datetime.fromtimestamp(unix_nano / 1e9, UTC).isoformat()


def is_llm_span(a: dict[str, Any]) -> bool:
    """An LLM call; agent, tool and workflow spans (`invoke_agent`, `execute_tool`, ...) are
    not, even when they name a provider or model: they are the trace's tree."""
    if a.get("gen_ai.operation.name") in _TREE_OPERATIONS or str(
            a.get("openinference.span.kind", "")).upper() in _TREE_KINDS:
        return False
    return bool(
        a.get("gen_ai.request.model") or a.get("gen_ai.response.model")
        or a.get("gen_ai.system") or a.get("gen_ai.provider.name")
        or a.get("gen_ai.operation.name") in _LLM_OPERATIONS
        or str(a.get("openinference.span.kind", "")).upper() == "LLM"
        or a.get("llm.model_name")
    )


def map_span(span: Span, resource: dict[str, Any], max_json_depth: int = MAX_JSON_DEPTH
             ) -> pb.TraceEvent | None:
    """The trace event of an LLM span, None for other spans; raises InvalidSpan."""
    a = attributes(span.attributes)
    if not is_llm_span(a):
        return None
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
    event = pb.TraceEvent(
        event_id=f"{trace_id}-{span_id}", trace_id=trace_id, span_id=span_id,
        parent_span_id=span.parent_span_id.hex(),
        app=str(resource.get("service.name") or "unknown_service"),
        environment=str(resource.get("deployment.environment.name")
                        or resource.get("deployment.environment") or ""),
        provider=str(_first(a, "gen_ai.provider.name", "gen_ai.system", "llm.provider",
                            "llm.system") or ""),
        model=str(_first(a, "gen_ai.request.model", "gen_ai.response.model",
                         "llm.model_name") or ""),
        session_id=str(_first(a, "session.id", "gen_ai.conversation.id") or ""),
        user_id=str(_first(a, "user.id", "enduser.id") or ""),
    )
    event.start_time.FromNanoseconds(span.start_time_unix_nano)
    event.end_time.FromNanoseconds(span.end_time_unix_nano)
    _tokens(event, a)
    _params(event, a, max_json_depth)
    talk = conversation(a, span, max_json_depth)
    event.prompt.extend(talk.prompt)
    event.completion = talk.completion
    event.completion_tool_calls.extend(talk.tool_calls)
    event.finish_reason = talk.finish_reason or _finish_reason(a)
    event.tool_definitions = _tool_definitions(a, max_json_depth)
    _status(event, span)
    other = [(k, text(v)) for k, v in a.items()
             if not k.startswith(("gen_ai.", "llm.", "input.", "output."))]
    event.attributes.update(other[:64])
    return event


def _first(a: dict[str, Any], *names: str) -> Any:
    for name in names:
        if a.get(name) not in (None, ""):
            return a[name]
    return None


def _tokens(event: pb.TraceEvent, a: dict[str, Any]) -> None:
    for target, names in (
        ("input_tokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                          "llm.token_count.prompt")),
        ("output_tokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                           "llm.token_count.completion")),
        ("cached_input_tokens", ("gen_ai.usage.cache_read.input_tokens",
                                 "gen_ai.usage.cache_read_input_tokens",
                                 "llm.token_count.prompt_details.cache_read")),
    ):
        value = whole(_first(a, *names), 2**64)  # not NaN, inf, negative or a fraction
        if value is not None:
            setattr(event, target, value)


def _params(event: pb.TraceEvent, a: dict[str, Any], max_depth: int) -> None:
    """Request parameters from the `gen_ai.request.*` attributes, else from OpenInference's
    `llm.invocation_parameters` JSON. A zero is a value (temperature 0, seed 0)."""
    blob = parse_json(a.get("llm.invocation_parameters"), "llm.invocation_parameters",
                      max_depth)
    oi = blob if isinstance(blob, dict) else {}

    def pick(semconv: str, *oi_names: str) -> Any:
        value = a.get(semconv)
        return value if value is not None else _first(oi, *oi_names)

    p = event.params
    for target, semconv in (("temperature", "temperature"), ("top_p", "top_p")):
        if (n := number(pick(f"gen_ai.request.{semconv}", semconv))) is not None:
            setattr(p, target, n)
    if (m := whole(pick("gen_ai.request.max_tokens", "max_tokens", "max_completion_tokens"),
                   2**32)) is not None:
        p.max_tokens = m
    if (seed := whole(pick("gen_ai.request.seed", "seed"), 2**64)) is not None:
        p.seed = seed
    stop = pick("gen_ai.request.stop_sequences", "stop")
    p.stop.extend(str(x) for x in (stop if isinstance(stop, list) else [stop] if stop else []))
    response_format = a.get("gen_ai.output.type") or oi.get("response_format")
    if isinstance(response_format, dict):
        response_format = response_format.get("type")
    if response_format:
        p.response_format = str(response_format)


def _finish_reason(a: dict[str, Any]) -> str:
    reasons = a.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons:
        return str(reasons[0])
    return str(reasons or a.get("llm.finish_reason") or "")


def _tool_definitions(a: dict[str, Any], max_depth: int) -> str:
    """The tools offered to the model as a JSON array: `gen_ai.tool.definitions`, else
    OpenInference's `llm.tools.N.tool.json_schema`, else OpenLLMetry's
    `llm.request.functions.N.{name,description,parameters}`."""
    value = parse_json(a.get("gen_ai.tool.definitions"), "gen_ai.tool.definitions", max_depth)
    if isinstance(value, list) and value:
        return json.dumps(value, ensure_ascii=False)
    tools: list[Any] = []
    i = 0
    while (name := f"llm.tools.{i}.tool.json_schema") in a:
        tools.append(parse_json(a[name], name, max_depth) or a[name])
        i += 1
    i = 0
    while (base := f"llm.request.functions.{i}") + ".name" in a:
        parameters = parse_json(a.get(f"{base}.parameters"), f"{base}.parameters", max_depth)
        tools.append({"name": a[f"{base}.name"], "description": a.get(f"{base}.description", ""),
                      "parameters": parameters if parameters is not None else {}})
        i += 1
    return json.dumps(tools, ensure_ascii=False) if tools else ""


def conversation(a: dict[str, Any], span: Span | None, max_depth: int) -> Conversation:
    """The call's messages from the first convention that has them."""
    for found in (otlp_messages.semconv(a, max_depth),
                  otlp_messages.indexed(a, otlp_messages.OPENLLMETRY),
                  otlp_messages.indexed(a, otlp_messages.OPENINFERENCE)):
        if found:
            return found
    found = Conversation()
    for ev in span.events if span is not None else ():
        ea = attributes(ev.attributes)
        if not otlp_messages.add_event(found, ev.name, ea, max_depth):
            if ev.name == "gen_ai.content.prompt" and ea.get("gen_ai.prompt"):
                found.prompt.append(pb.Message(role="user", content=text(ea["gen_ai.prompt"])))
            elif ev.name == "gen_ai.content.completion" and ea.get("gen_ai.completion"):
                found.completion = text(ea["gen_ai.completion"])
    if found:
        return found
    if a.get("input.value"):
        found.prompt.append(pb.Message(role="user", content=text(a["input.value"])))
    found.completion = text(a.get("output.value") or "")
    return found


def _status(event: pb.TraceEvent, span: Span) -> None:
    if span.status.code != Status.STATUS_CODE_ERROR:
        event.status = pb.TRACE_STATUS_OK
        return
    event.status = pb.TRACE_STATUS_ERROR
    event.error_message = span.status.message
    for ev in span.events:
        if ev.name == "exception":
            ea = attributes(ev.attributes)
            event.error_type = str(ea.get("exception.type") or "")
            event.error_message = str(ea.get("exception.message") or event.error_message)
            break
