"""OTLP logs receivers: OTLP/gRPC LogsService.Export (on the ingest gRPC port) and
OTLP/HTTP `POST /v1/logs` (protobuf or JSON, gzip; served by otlp_receiver.http_app),
with the same API keys, limits and errors as the traces receivers.

GenAI message records become `call_logs` rows and evaluation results `scores` rows
(vigil.ingest.otlp_logs), both published to Kafka and acknowledged only once Kafka has
them; a record that cannot be read is reported in `partial_success` (rejected log
records + reason); other records are counted (`vigil_otlp_log_records_total{outcome=
"dropped"}`) and dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from vigil.access.keyring import KeyRing
from vigil.access.ratelimit import RateLimiter
from vigil.core.pii import mask_pii
from vigil.ingest.guard import (
    KAFKA_RETRY_AFTER_S,
    abort_overloaded,
    abort_retry_after,
    admit,
    authenticate,
)
from vigil.ingest.otlp_logs import Masker, map_logs
from vigil.ingest.publisher import IngestOverloaded, KafkaUnavailable, TracePublisher
from vigil.runtime.logs import get_logger
from vigil.runtime.metrics import OTLP_LOG_RECORDS
from vigil.settings import Settings

log = get_logger(__name__)
OTLP_LOGS_SERVICE_NAME = logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name


def masker(settings: Settings) -> Masker:
    """Mask PII in log-record messages as enrich masks a call's (VIGIL_PII_MASKING)."""
    if not settings.pii_masking:
        return lambda s: s
    kinds = settings.pii_kind_set
    return lambda s: mask_pii(s, kinds)[0] if s else s


def record_count(request: ExportLogsServiceRequest) -> int:
    return sum(len(scope.log_records) for resource in request.resource_logs
               for scope in resource.scope_logs)


async def export_logs(request: ExportLogsServiceRequest, project: str,
                      publisher: TracePublisher, max_json_depth: int, mask: Masker
                      ) -> ExportLogsServiceResponse:
    """Map and publish; raises KafkaUnavailable when Kafka did not confirm."""
    mapped = map_logs(request, max_json_depth, datetime.now(UTC), mask)
    if mapped.call_logs:
        await publisher.publish_call_logs([{**r, "project_id": project}
                                           for r in mapped.call_logs])
    if mapped.scores:
        await publisher.publish_app_scores([{**r, "project_id": project}
                                            for r in mapped.scores])
    for outcome, n in (("messages", len(mapped.call_logs)), ("scores", len(mapped.scores)),
                       ("dropped", mapped.dropped), ("rejected", len(mapped.rejected))):
        OTLP_LOG_RECORDS.labels(outcome).inc(n)
    if mapped.dropped:
        log.info("OTLP log records dropped: not GenAI records of a span", project=project,
                 dropped=mapped.dropped)
    response = ExportLogsServiceResponse()
    if mapped.rejected:
        reasons = mapped.rejected
        response.partial_success.CopyFrom(ExportLogsPartialSuccess(
            rejected_log_records=len(reasons),
            error_message="; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else "")))
    return response


class OtlpLogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, keyring: KeyRing, limiter: RateLimiter, publisher: TracePublisher,
                 max_json_depth: int, mask: Masker, max_records: int = 10_000) -> None:
        self._keyring, self._limiter, self._publisher = keyring, limiter, publisher
        self._max_json_depth, self._mask, self._max_records = max_json_depth, mask, max_records

    async def Export(self, request: ExportLogsServiceRequest, context: grpc.aio.ServicerContext
                     ) -> ExportLogsServiceResponse:
        caller = await authenticate(self._keyring, context)
        records = record_count(request)
        if records > self._max_records:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{records} log records in "
                                f"one request, the limit is {self._max_records}")
        await admit(self._limiter, context, caller, records)
        try:
            return await export_logs(request, caller.project, self._publisher,
                                     self._max_json_depth, self._mask)
        except KafkaUnavailable as exc:
            await abort_retry_after(context, grpc.StatusCode.UNAVAILABLE, f"{exc}; retry",
                                    KAFKA_RETRY_AFTER_S)
            raise  # unreachable: abort raises
        except IngestOverloaded as exc:
            await abort_overloaded(context, exc.refusal)
            raise  # unreachable: abort raises
