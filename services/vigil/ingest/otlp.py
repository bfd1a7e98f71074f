"""OTLP spans -> Vigil trace events (pure).

Reads the OpenTelemetry GenAI semantic conventions, current and older names
(`gen_ai.provider.name`/`gen_ai.system`, `gen_ai.usage.input_tokens`/
`gen_ai.usage.prompt_tokens`, messages as `gen_ai.input.messages` JSON, as
indexed `gen_ai.prompt.N.*` attributes, or as span events), and the
OpenInference attributes (`llm.*`, `input.value`). A span is an LLM call when
it names a model, a GenAI system or operation, or is an OpenInference LLM
span; other spans are not LLM calls and are counted as skipped. The event id
is `<trace id>-<span id>`, so an exporter's retry is stored once. A span whose
ids are not OTLP's, whose JSON nests too deeply, or (kept non-LLM spans) whose
times are out of range is rejected with its reason; the rest of the request is
mapped still.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from vigil.events.validate import (
    Limits,
    Violation,
    json_too_deep,
    validate_span_ids,
    validate_span_times,
)
from vigil.settings import MAX_JSON_DEPTH
from vigil_protos.v1 import events_pb2 as pb

_LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion", "embeddings"}
_ROLE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


@dataclass(slots=True)
class SpanMapping:
    events: list[pb.TraceEvent] = field(default_factory=list)
    other_spans: list[dict[str, Any]] = field(default_factory=list)  # `spans` rows, no project
    skipped_non_llm: int = 0
    rejected: list[str] = field(default_factory=list)  # "span <id>: <field> <reason>"


class InvalidSpan(Exception):
    """A span the mapping refuses (its Violation says which attribute and why)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation


def value_of(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    return getattr(v, kind) if kind else None


def attributes(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


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
        "attributes": dict(list((k, _text(v)[:2048])
                                for k, v in attributes(span.attributes).items())[:64]),
    }


def _kind(kind: int) -> str:
    """Enums are open: a kind this version does not know is stored as unspecified."""
    name = Span.SpanKind.Name(kind) if kind in Span.SpanKind.values() else "UNSPECIFIED"
    return name.removeprefix("SPAN_KIND_").lower()


def _iso(unix_nano: int) -> str:
    return datetime.fromtimestamp(unix_nano / 1e9, UTC).isoformat()


def is_llm_span(a: dict[str, Any]) -> bool:
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
    _params(event, a)
    prompt, completion, finish = _messages(a, span, max_json_depth)
    event.prompt.extend(prompt)
    event.completion = completion
    event.finish_reason = finish or _finish_reason(a)
    _status(event, span)
    other = [(k, _text(v)) for k, v in a.items()
             if not k.startswith(("gen_ai.", "llm.", "input.", "output."))]
    event.attributes.update(other[:64])
    return event


def _first(a: dict[str, Any], *names: str) -> Any:
    for name in names:
        if a.get(name) not in (None, ""):
            return a[name]
    return None


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


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
        value = _first(a, *names)
        if isinstance(value, int | float) and 0 <= value < 2**64:  # not NaN, inf or negative
            setattr(event, target, int(value))


def _params(event: pb.TraceEvent, a: dict[str, Any]) -> None:
    p = event.params
    for name, target in (("gen_ai.request.temperature", "temperature"),
                         ("gen_ai.request.top_p", "top_p")):
        if isinstance(a.get(name), int | float):
            setattr(p, target, float(a[name]))
    if isinstance(a.get("gen_ai.request.max_tokens"), int) and \
            0 <= a["gen_ai.request.max_tokens"] < 2**32:
        p.max_tokens = a["gen_ai.request.max_tokens"]
    if isinstance(a.get("gen_ai.request.seed"), int) and a["gen_ai.request.seed"] >= 0:
        p.seed = a["gen_ai.request.seed"]
    if isinstance(a.get("gen_ai.request.stop_sequences"), list):
        p.stop.extend(str(s) for s in a["gen_ai.request.stop_sequences"])
    if a.get("gen_ai.output.type"):
        p.response_format = str(a["gen_ai.output.type"])


def _finish_reason(a: dict[str, Any]) -> str:
    reasons = a.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons:
        return str(reasons[0])
    return str(reasons or "")


def _messages(a: dict[str, Any], span: Span, max_depth: int
              ) -> tuple[list[pb.Message], str, str]:
    """(prompt, completion, finish reason) from the first convention that has them."""
    readers: tuple[Callable[[dict[str, Any]], tuple[list[pb.Message], str, str]], ...] = (
        partial(_semconv_json, max_depth=max_depth),
        _indexed("gen_ai.prompt", "gen_ai.completion", ""),
        _indexed("llm.input_messages", "llm.output_messages", ".message"))
    for reader in readers:
        prompt, completion, finish = reader(a)
        if prompt or completion:
            return prompt, completion, finish
    prompt, completion = _span_events(span, max_depth)
    if prompt or completion:
        return prompt, completion, ""
    prompt = [pb.Message(role="user", content=_text(a["input.value"]))] \
        if a.get("input.value") else []
    return prompt, _text(a.get("output.value") or ""), ""


def _semconv_json(a: dict[str, Any], max_depth: int) -> tuple[list[pb.Message], str, str]:
    def read(name: str) -> Any:
        return _json(a.get(name), name, max_depth)

    prompt: list[pb.Message] = []
    instructions = read("gen_ai.system_instructions")
    if instructions:
        prompt.append(pb.Message(role="system", content=_parts_text(instructions)))
    for message in read("gen_ai.input.messages") or []:
        if isinstance(message, dict):
            prompt.append(pb.Message(role=str(message.get("role") or "user"),
                                     content=_parts_text(message.get("parts", message))))
    completion, finish = "", ""
    for message in read("gen_ai.output.messages") or []:
        if isinstance(message, dict):
            completion = _parts_text(message.get("parts", message))
            finish = str(message.get("finish_reason") or "")
            break
    return prompt, completion, finish


def _json(value: Any, name: str, max_depth: int) -> Any:
    """The attribute `name` parsed when it is JSON text (None when it is not JSON); raises
    InvalidSpan when it nests deeper than `max_depth`."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise _too_deep(name, max_depth) from None
        except ValueError:
            return None
    if json_too_deep(value, max_depth):
        raise _too_deep(name, max_depth)
    return value


def _too_deep(name: str, max_depth: int) -> InvalidSpan:
    return InvalidSpan(Violation(name, f"nests JSON deeper than {max_depth} levels"))


def _parts_text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, dict):
        return str(parts.get("content") or parts.get("text") or "")
    if isinstance(parts, list):
        return "".join(_parts_text(p) for p in parts
                       if not isinstance(p, dict) or p.get("type", "text") == "text")
    return ""


def _indexed(prompt_prefix: str, completion_prefix: str, infix: str):  # type: ignore[no-untyped-def]
    def read(a: dict[str, Any]) -> tuple[list[pb.Message], str, str]:
        prompt = []
        i = 0
        while f"{prompt_prefix}.{i}{infix}.content" in a or f"{prompt_prefix}.{i}{infix}.role" in a:
            prompt.append(pb.Message(role=str(a.get(f"{prompt_prefix}.{i}{infix}.role") or "user"),
                                     content=_text(a.get(f"{prompt_prefix}.{i}{infix}.content")
                                                   or "")))
            i += 1
        completion = _text(a.get(f"{completion_prefix}.0{infix}.content") or "")
        finish = str(a.get(f"{completion_prefix}.0.finish_reason") or "")
        return prompt, completion, finish

    return read


def _span_events(span: Span, max_depth: int) -> tuple[list[pb.Message], str]:
    prompt: list[pb.Message] = []
    completion = ""
    for ev in span.events:
        ea = attributes(ev.attributes)
        if ev.name in _ROLE_EVENTS:
            prompt.append(pb.Message(role=_ROLE_EVENTS[ev.name],
                                     content=_text(ea.get("content") or "")))
        elif ev.name == "gen_ai.choice":
            message = _json(ea.get("message"), "gen_ai.choice message", max_depth)
            completion = _parts_text(message) if message else _text(ea.get("content") or "")
        elif ev.name == "gen_ai.content.prompt" and ea.get("gen_ai.prompt"):
            prompt.append(pb.Message(role="user", content=_text(ea["gen_ai.prompt"])))
        elif ev.name == "gen_ai.content.completion" and ea.get("gen_ai.completion"):
            completion = _text(ea["gen_ai.completion"])
    return prompt, completion


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
