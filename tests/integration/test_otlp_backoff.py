"""Overload answers that OTLP exporters understand: a key over its rate gets
RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (as `google.rpc.retryinfo-bin` and inside
`grpc-status-details-bin`) over gRPC and 429 with Retry-After over HTTP, and the
OpenTelemetry SDK's own gRPC exporter waits as told, retries and gets its spans in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.conftest import KEY_A, Broker, Stack
from tests.support.otlp_recordings import replay

pytestmark = pytest.mark.integration
RATE_PER_S, BURST = 1.0, 4  # the recorded openinference request holds 2 spans


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("otlp_backoff"), broker.bootstrap,
              VIGIL_RATE_LIMIT_EVENTS_PER_S=str(RATE_PER_S),
              VIGIL_RATE_LIMIT_EVENTS_BURST=str(BURST))
    s.start("ingest")
    yield s
    s.stop()


def _spend_the_burst(stack: Stack) -> None:
    """Send one-record requests (an app log: dropped) until the key is refused: then less
    than one token is left."""
    one = ExportLogsServiceRequest(resource_logs=[{"scope_logs": [{
        "log_records": [{"body": {"string_value": "app log"}}]}]}])
    with grpc.insecure_channel(stack.target) as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        for _ in range(10 * BURST):
            try:
                stub.Export(one, metadata=[("authorization", f"Bearer {KEY_A}")], timeout=30)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                return
    raise AssertionError("the key was never refused")


def test_grpc_refusals_carry_retry_info(stack: Stack) -> None:
    _spend_the_burst(stack)
    request, _, _ = replay("openinference")
    with grpc.insecure_channel(stack.target) as channel, \
            pytest.raises(grpc.RpcError) as refused:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            request, metadata=[("authorization", f"Bearer {KEY_A}")], timeout=30)
    err = refused.value
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(err.trailing_metadata())
    info = RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
    delay = info.retry_delay.ToTimedelta().total_seconds()
    assert 0 < delay <= 2 / RATE_PER_S + 0.01  # two spans' worth of tokens
    status = Status.FromString(trailers["grpc-status-details-bin"])
    [detail] = status.details
    unpacked = RetryInfo()
    assert detail.Unpack(unpacked) and unpacked == info
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]


def test_the_sdk_exporter_backs_off_as_told_and_gets_in(stack: Stack) -> None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "backoff-app"}))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("t")
    for _ in range(2):
        with tracer.start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.provider.name", "openai")
    exporter = OTLPSpanExporter(endpoint=f"http://{stack.target}", insecure=True,
                                headers={"authorization": f"Bearer {KEY_A}"}, timeout=30)
    _spend_the_burst(stack)
    started = time.monotonic()
    result = exporter.export(kept.get_finished_spans())
    waited = time.monotonic() - started
    exporter.shutdown()
    assert result == SpanExportResult.SUCCESS
    assert waited >= 1 / RATE_PER_S  # it waited for the tokens instead of giving up


def test_http_refusals_say_retry_after(stack: Stack) -> None:
    _spend_the_burst(stack)
    request, _, _ = replay("openinference")
    response = httpx.post(f"http://127.0.0.1:{stack.otlp_http_port}/v1/traces",
                          content=request.SerializeToString(), timeout=30, headers={
                              "authorization": f"Bearer {KEY_A}",
                              "content-type": "application/x-protobuf"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
