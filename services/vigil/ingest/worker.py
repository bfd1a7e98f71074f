"""The gRPC IngestService: auth, validation, acknowledgement after Kafka confirmed.

Errors: UNAUTHENTICATED (no, unknown or revoked key), INVALID_ARGUMENT (names the
field and the rule, or says why the request could not be decoded; permanent, do not
retry), RESOURCE_EXHAUSTED (the request is larger than
VIGIL_MAX_REQUEST_BYTES, the key is over its rate limit, or ingest holds
VIGIL_INGEST_MAX_PENDING_EVENTS unconfirmed events already ("ingest is
overloaded"): the message says the limit and when to retry, trailer
`vigil-retry-after-ms`), UNAVAILABLE (Kafka
did not confirm; retry with the same event ids, they are stored once). With
VIGIL_TLS_CERT_FILE/KEY_FILE the port serves TLS only. The standard health service reports
SERVING only while Kafka is reachable; server reflection is on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from vigil.access.keyring import KeyRing
from vigil.access.ratelimit import RateLimiter
from vigil.events.validate import Limits, Violation, validate_feedback, validate_trace
from vigil.ingest.decoding import DecodeGuard
from vigil.ingest.guard import abort_overloaded, admit, authenticate
from vigil.ingest.otlp_logs_receiver import OTLP_LOGS_SERVICE_NAME, OtlpLogsServicer, masker
from vigil.ingest.otlp_receiver import OTLP_SERVICE_NAME, OtlpTraceServicer, http_app
from vigil.ingest.publisher import IngestOverloaded, KafkaUnavailable, TracePublisher
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import INGEST_ACK_SECONDS, INGEST_EVENTS
from vigil.runtime.tls import grpc_server_credentials, server_ssl_context
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

log = get_logger(__name__)
SERVICE_NAME = ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name
_STREAM_INFLIGHT = 8


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(self, settings: Settings, keyring: KeyRing, publisher: TracePublisher,
                 limiter: RateLimiter) -> None:
        self._keyring = keyring
        self._limiter = limiter
        self._publisher = publisher
        self._max_batch = settings.max_batch_events
        self.limits = self._limits = Limits.from_settings(settings)

    async def Emit(self, request: ingest_pb2.EmitRequest, context: grpc.aio.ServicerContext
                   ) -> ingest_pb2.EmitResponse:
        started = time.perf_counter()
        project = await self._project(context, 1)
        if violation := validate_trace(request.event, self._limits, datetime.now(UTC)):
            INGEST_EVENTS.labels("rejected").inc()
            await _abort_invalid(context, "event", violation)
        await self._publish(context, project, [request.event])
        INGEST_ACK_SECONDS.labels("Emit").observe(time.perf_counter() - started)
        return ingest_pb2.EmitResponse(event_id=request.event.event_id)

    async def EmitBatch(self, request: ingest_pb2.EmitBatchRequest,
                        context: grpc.aio.ServicerContext) -> ingest_pb2.EmitBatchResponse:
        started = time.perf_counter()
        caller = await authenticate(self._keyring, context)
        await self._check_batch_size(context, len(request.events))
        await admit(self._limiter, context, caller, len(request.events))
        project = caller.project
        accepted, results = self._triage(request.events, offset=0)
        await self._publish(context, project, accepted)
        INGEST_ACK_SECONDS.labels("EmitBatch").observe(time.perf_counter() - started)
        return _summary(len(accepted), results)

    async def EmitStream(self, request_iterator: AsyncIterator[ingest_pb2.EmitBatchRequest],
                         context: grpc.aio.ServicerContext) -> ingest_pb2.EmitBatchResponse:
        caller = await authenticate(self._keyring, context)
        results: list[ingest_pb2.EventResult] = []
        inflight: set[asyncio.Task[None]] = set()
        accepted_total = 0
        try:
            async for message in request_iterator:
                await self._still_allowed(context)
                await self._check_batch_size(context, len(message.events))
                await admit(self._limiter, context, caller, len(message.events))
                accepted, message_results = self._triage(message.events, offset=len(results))
                results.extend(message_results)
                accepted_total += len(accepted)
                inflight.add(asyncio.create_task(
                    self._publisher.publish(caller.project, accepted)))
                if len(inflight) >= _STREAM_INFLIGHT:
                    done, inflight = await asyncio.wait(
                        inflight, return_when=asyncio.FIRST_COMPLETED
                    )
                    _raise_first(done)
            if inflight:
                _raise_first((await asyncio.wait(inflight))[0])
        except KafkaUnavailable as exc:
            await _abort_unavailable(context, exc)
        except IngestOverloaded as exc:
            await abort_overloaded(context, exc.refusal)
        finally:
            for task in inflight:
                task.cancel()
        return _summary(accepted_total, results)

    async def SubmitFeedback(self, request: ingest_pb2.SubmitFeedbackRequest,
                             context: grpc.aio.ServicerContext
                             ) -> ingest_pb2.SubmitFeedbackResponse:
        project = await self._project(context, 1)
        feedback = request.feedback
        if violation := validate_feedback(feedback, self._limits, datetime.now(UTC)):
            await _abort_invalid(context, "feedback", violation)
        if not feedback.feedback_id:
            feedback.feedback_id = str(uuid.uuid4())
        if not feedback.HasField("time"):
            feedback.time.GetCurrentTime()
        try:
            await self._publisher.publish_feedback(project, feedback)
        except (KafkaUnavailable, TimeoutError) as exc:
            await _abort_unavailable(context, exc)
        return ingest_pb2.SubmitFeedbackResponse(feedback_id=feedback.feedback_id)

    async def _project(self, context: grpc.aio.ServicerContext, events: int) -> str:
        """The caller's project, once its key is known and `events` are within its limit."""
        caller = await authenticate(self._keyring, context)
        await admit(self._limiter, context, caller, events)
        return caller.project

    async def _still_allowed(self, context: grpc.aio.ServicerContext) -> None:
        """A stream's key is checked again on every message: a revocation reaches open
        streams as soon as it reaches new calls (the key ring re-reads the key file at
        most once per second)."""
        if self._keyring.caller_for_metadata(context.invocation_metadata() or ()) is None:
            INGEST_EVENTS.labels("unauthenticated").inc()
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "the API key was revoked while this stream was open: "
                                "messages after the revocation are not accepted")

    async def _check_batch_size(self, context: grpc.aio.ServicerContext, n: int) -> None:
        if n > self._max_batch:
            await _abort_invalid(
                context, "events",
                Violation("events", f"{n} events in one message, the limit is {self._max_batch}"),
            )

    def _triage(self, events: list[pb.TraceEvent], offset: int
                ) -> tuple[list[pb.TraceEvent], list[ingest_pb2.EventResult]]:
        now = datetime.now(UTC)
        accepted: list[pb.TraceEvent] = []
        results = []
        for i, event in enumerate(events):
            violation = validate_trace(event, self._limits, now)
            result = ingest_pb2.EventResult(index=offset + i, event_id=event.event_id)
            if violation is None:
                accepted.append(event)
            else:
                result.code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
                result.field, result.reason = violation.field, violation.reason
            results.append(result)
        INGEST_EVENTS.labels("rejected").inc(len(events) - len(accepted))
        return accepted, results

    async def _publish(self, context: grpc.aio.ServicerContext, project: str,
                       events: list[pb.TraceEvent]) -> None:
        try:
            await self._publisher.publish(project, events)
        except KafkaUnavailable as exc:
            await _abort_unavailable(context, exc)
        except IngestOverloaded as exc:
            await abort_overloaded(context, exc.refusal)
        INGEST_EVENTS.labels("accepted").inc(len(events))


def _raise_first(done: set[asyncio.Task[None]]) -> None:
    for task in done:
        task.result()


def _summary(accepted: int, results: list[ingest_pb2.EventResult]
             ) -> ingest_pb2.EmitBatchResponse:
    return ingest_pb2.EmitBatchResponse(
        accepted=accepted, rejected=len(results) - accepted, results=results
    )


async def _abort_invalid(context: grpc.aio.ServicerContext, what: str, v: Violation) -> None:
    context.set_trailing_metadata((("vigil-field", v.field), ("vigil-reason", v.reason)))
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid {what}: {v.field} {v.reason}")


async def _abort_unavailable(context: grpc.aio.ServicerContext, exc: Exception) -> None:
    log.warning("write not confirmed", error=str(exc))
    await context.abort(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry with the same event ids")


def events_limiter(settings: Settings) -> RateLimiter:
    return RateLimiter(settings.rate_limit_events_per_s, settings.rate_limit_events_burst,
                       "events")


async def start_server(settings: Settings, keyring: KeyRing, publisher: TracePublisher,
                       listen: str | None = None, limiter: RateLimiter | None = None
                       ) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Start the server on `listen` (port 0 picks a free one); return it and its port.
    TLS only when settings has a certificate."""
    server = grpc.aio.server(interceptors=[DecodeGuard()], options=[
        ("grpc.max_receive_message_length", settings.max_request_bytes),
        ("grpc.max_send_message_length", settings.max_request_bytes),
    ])
    limiter = limiter or events_limiter(settings)
    servicer = IngestServicer(settings, keyring, publisher, limiter)
    ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicer, server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
        OtlpTraceServicer(keyring, limiter, publisher, servicer.limits,
                          settings.otlp_non_llm_spans == "keep", settings.max_batch_events),
        server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
        OtlpLogsServicer(keyring, limiter, publisher, servicer.limits.max_json_depth,
                         masker(settings), settings.max_batch_events), server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, OTLP_SERVICE_NAME, OTLP_LOGS_SERVICE_NAME,
         health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    address = listen or settings.ingest_listen
    if settings.tls_cert_file and settings.tls_key_file:
        port = server.add_secure_port(
            address, grpc_server_credentials(settings.tls_cert_file, settings.tls_key_file))
    else:
        port = server.add_insecure_port(address)
    await server.start()
    return server, port, health


async def watch_kafka(publisher: TracePublisher, health: HealthServicer) -> None:
    """Keep trying to reach Kafka; mirror the result in the health service."""
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    while True:
        try:
            await publisher.connect()
            state = serving
        except KafkaUnavailable as exc:
            log.warning("kafka unreachable", error=str(exc))
            state = not_serving
        await health.set(SERVICE_NAME, state)
        await health.set("", state)
        await asyncio.sleep(1.0 if state == serving else 2.0)


async def start_otlp_http(settings: Settings, keyring: KeyRing, publisher: TracePublisher,
                          limits: Limits, limiter: RateLimiter) -> web.AppRunner | None:
    if not settings.otlp_http_listen:
        return None
    runner = web.AppRunner(http_app(keyring, limiter, publisher, limits,
                                    settings.max_request_bytes,
                                    settings.otlp_non_llm_spans == "keep",
                                    settings.max_batch_events, masker(settings)),
                           access_log=None)
    await runner.setup()
    host, _, port = settings.otlp_http_listen.rpartition(":")
    ssl_context = (server_ssl_context(settings.tls_cert_file, settings.tls_key_file)
                   if settings.tls_cert_file and settings.tls_key_file else None)
    await web.TCPSite(runner, host, int(port), ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    log.info("OTLP/HTTP listening", url=f"{scheme}://{settings.otlp_http_listen}/v1/traces",
             logs=f"{scheme}://{settings.otlp_http_listen}/v1/logs")
    return runner


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run ingest until `stop` is set; then stop taking calls and flush to Kafka."""
    keyring = KeyRing.from_settings(settings)
    limiter = events_limiter(settings)
    publisher = TracePublisher(settings)
    server, port, health = await start_server(settings, keyring, publisher, limiter=limiter)
    watcher = asyncio.create_task(watch_kafka(publisher, health))
    log.info("ingest listening", port=port, address=settings.ingest_listen,
             otlp_grpc="same port", tls=settings.tls)
    otlp_http = await start_otlp_http(settings, keyring, publisher,
                                      Limits.from_settings(settings), limiter)
    await stop.wait()
    log.info("ingest stopping: draining calls in flight")
    await health.enter_graceful_shutdown()
    if otlp_http is not None:
        await otlp_http.cleanup()
    await server.stop(grace=10)
    watcher.cancel()
    await publisher.close()
    log.info("ingest stopped")
