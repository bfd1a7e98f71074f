"""OTLP receivers: OTLP/gRPC TraceService.Export (on the ingest gRPC port) and
OTLP/HTTP `POST /v1/traces` and `POST /v1/logs` (protobuf or JSON, optionally gzip; the
logs side is otlp_logs_receiver's), same API keys as ingest (`authorization: Bearer
<key>`).

LLM spans become trace events and go through the same validation and the same
Kafka-confirmed publishing as Emit; invalid ones (and spans with ids not of
OTLP's sizes, times out of range, JSON attributes nested too deeply) are
reported in `partial_success` (rejected_spans + a reason), as the OTLP spec
asks, and the rest are stored. A body that is not an OTLP request (bad
protobuf, JSON nested deeper than the limit, a Content-Encoding it is not
encoded in) -> 400: permanent, the exporter does not retry. Kafka not
confirming -> UNAVAILABLE / HTTP 503, so the exporter retries (its retry is
stored once: event id = trace id + span id).
Limits: a body over `max_body_bytes` (also once decompressed: aiohttp inflates
gzip bodies while reading and stops at the limit, so a small bomb cannot inflate
in memory) -> 413; more spans
than `max_spans` in one request -> INVALID_ARGUMENT / 413; a key over its rate
limit (counted in spans) or ingest overloaded (too many events wait for Kafka)
-> RESOURCE_EXHAUSTED / 429 with Retry-After.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from vigil.access.keyring import KeyRing
from vigil.access.ratelimit import RateLimiter
from vigil.events.validate import Limits, validate_trace
from vigil.ingest.guard import (
    KAFKA_RETRY_AFTER_S,
    abort_overloaded,
    abort_retry_after,
    admit,
    authenticate,
    note_rate_limited,
)
from vigil.ingest.otlp import map_request
from vigil.ingest.otlp_logs import Masker
from vigil.ingest.otlp_logs_receiver import export_logs, record_count
from vigil.ingest.publisher import IngestOverloaded, KafkaUnavailable, TracePublisher
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_EVENTS
from vigil.settings import MAX_JSON_DEPTH

log = get_logger(__name__)
OTLP_SERVICE_NAME = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
M = TypeVar("M", ExportTraceServiceRequest, ExportLogsServiceRequest)


async def export(request: ExportTraceServiceRequest, project: str, publisher: TracePublisher,
                 limits: Limits, keep_other_spans: bool = True) -> ExportTraceServiceResponse:
    """Map, validate and publish; raises KafkaUnavailable when Kafka did not confirm,
    IngestOverloaded when too many events wait for Kafka already."""
    now = datetime.now(UTC)
    mapped = map_request(request, limits, now, keep_other_spans)
    accepted, reasons = [], list(mapped.rejected)
    spans = [{**row, "project_id": project} for row in mapped.other_spans]
    for event in mapped.events:
        violation = validate_trace(event, limits, now)
        if violation is None:
            accepted.append(event)
        else:
            reasons.append(f"span {event.span_id}: {violation.field} {violation.reason}")
    await publisher.publish(project, accepted)
    if spans:
        await publisher.publish_spans(spans)
    INGEST_EVENTS.labels("accepted").inc(len(accepted))
    INGEST_EVENTS.labels("rejected").inc(len(reasons))
    response = ExportTraceServiceResponse()
    if reasons:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=len(reasons),
            error_message="; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else "")))
    return response


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(scope.spans) for resource in request.resource_spans
               for scope in resource.scope_spans)


class OtlpTraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, keyring: KeyRing, limiter: RateLimiter, publisher: TracePublisher,
                 limits: Limits, keep_other_spans: bool = True, max_spans: int = 10_000
                 ) -> None:
        self._keyring, self._limiter = keyring, limiter
        self._publisher, self._limits = publisher, limits
        self._keep_other_spans, self._max_spans = keep_other_spans, max_spans

    async def Export(self, request: ExportTraceServiceRequest, context: grpc.aio.ServicerContext
                     ) -> ExportTraceServiceResponse:
        caller = await authenticate(self._keyring, context)
        spans = span_count(request)
        if spans > self._max_spans:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"{spans} spans in one request, the limit is {self._max_spans}")
        await admit(self._limiter, context, caller, spans)
        try:
            return await export(request, caller.project, self._publisher, self._limits,
                                self._keep_other_spans)
        except KafkaUnavailable as exc:
            await abort_retry_after(context, grpc.StatusCode.UNAVAILABLE, f"{exc}; retry",
                                    KAFKA_RETRY_AFTER_S)
            raise  # unreachable: abort raises
        except IngestOverloaded as exc:
            await abort_overloaded(context, exc.refusal)
            raise  # unreachable: abort raises


def decode_http_body(body: bytes, content_type: str, max_json_depth: int = MAX_JSON_DEPTH,
                     kind: type[M] = ExportTraceServiceRequest) -> M:  # type: ignore[assignment]
    """An OTLP/HTTP body as a request of `kind` (traces or logs); ValueError with the
    reason when it is not one."""
    request = kind()
    name = kind.DESCRIPTOR.name
    if content_type == _PROTOBUF:
        try:
            request.ParseFromString(body)
        except Exception as exc:
            raise ValueError(f"not an OTLP {name}: {exc}") from exc
        return request
    try:
        doc = orjson.loads(body)
        json_format.ParseDict(_ids_to_base64(doc, max_json_depth), request,
                              ignore_unknown_fields=True)
    except (orjson.JSONDecodeError, json_format.ParseError, ValueError, TypeError,
            RecursionError) as exc:
        raise ValueError(f"not an OTLP/JSON {name}: {exc}") from exc
    return request


def _ids_to_base64(node: Any, depth_left: int) -> Any:
    """OTLP/JSON writes trace and span ids as hex; the protobuf JSON mapping wants base64.
    Raises ValueError past `depth_left` levels of arrays and objects."""
    if isinstance(node, dict | list) and depth_left <= 0:
        raise ValueError("the JSON nests deeper than the limit (VIGIL_MAX_JSON_DEPTH)")
    if isinstance(node, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode()
                    if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                    else _ids_to_base64(v, depth_left - 1)) for k, v in node.items()}
    if isinstance(node, list):
        return [_ids_to_base64(v, depth_left - 1) for v in node]
    return node


def http_app(keyring: KeyRing, limiter: RateLimiter, publisher: TracePublisher,
             limits: Limits, max_body_bytes: int, keep_other_spans: bool = True,
             max_spans: int = 10_000, mask: Masker = lambda s: s) -> web.Application:
    """`POST /v1/traces` and `POST /v1/logs`; `max_spans` bounds the log records of one
    request too."""
    async def export_traces(request: ExportTraceServiceRequest, project: str) -> Message:
        return await export(request, project, publisher, limits, keep_other_spans)

    async def export_log_records(request: ExportLogsServiceRequest, project: str) -> Message:
        return await export_logs(request, project, publisher, limits.max_json_depth, mask)

    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_post("/v1/traces", _handler(
        keyring, limiter, limits, max_body_bytes, max_spans, ExportTraceServiceRequest,
        span_count, "spans", export_traces))
    app.router.add_post("/v1/logs", _handler(
        keyring, limiter, limits, max_body_bytes, max_spans, ExportLogsServiceRequest,
        record_count, "log records", export_log_records))
    return app


def _handler(keyring: KeyRing, limiter: RateLimiter, limits: Limits, max_body_bytes: int,
             max_items: int, kind: type[M], count: Callable[[M], int], items: str,
             export_one: Callable[[M, str], Awaitable[Message]]
             ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        caller = keyring.caller_for_authorization(request.headers.get("authorization"))
        if caller is None:
            return _error(401, "missing or unknown API key (or revoked): send "
                          "'Authorization: Bearer <key>'")
        content_type = request.content_type
        if content_type not in (_PROTOBUF, _JSON):
            return _error(415, f"Content-Type must be {_PROTOBUF} or {_JSON}")
        if (request.content_length or 0) > max_body_bytes:
            return _error(413, f"body is larger than {max_body_bytes} bytes")
        try:  # aiohttp inflates gzip/deflate bodies as it reads, counting inflated bytes
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"body is larger than {max_body_bytes} bytes (once "
                          "decompressed)")
        except web.RequestPayloadError as exc:  # e.g. Content-Encoding: gzip on plain bytes
            encoding = request.headers.get("content-encoding", "")
            log.info("undecodable body", content_encoding=encoding, error=str(exc))
            return _error(400, f"body is not encoded as its Content-Encoding "
                          f"({encoding}) says")
        try:
            export_request = decode_http_body(body, content_type, limits.max_json_depth, kind)
        except ValueError as exc:
            return _error(400, str(exc))
        n = count(export_request)
        if n > max_items:
            return _error(413, f"{n} {items} in one request, the limit is {max_items}")
        if refusal := limiter.take(caller.digest, n):
            note_rate_limited(caller, refusal)
            return _error(429, str(refusal),
                          headers={"Retry-After": str(refusal.retry_after_whole_s)})
        try:
            response = await export_one(export_request, caller.project)
        except ValueError as exc:
            return _error(400, str(exc))
        except KafkaUnavailable as exc:
            return _error(503, f"{exc}; retry", headers={"Retry-After": "1"})
        except IngestOverloaded as exc:
            INGEST_EVENTS.labels("overloaded").inc()
            return _error(429, str(exc), headers={"Retry-After": "1"})
        if content_type == _JSON:
            return web.json_response(json_format.MessageToDict(response))
        return web.Response(body=response.SerializeToString(), content_type=_PROTOBUF)

    return handle


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status,
                             headers=headers)
