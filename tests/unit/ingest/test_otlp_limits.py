"""Counting the spans of an OTLP request (the unit of its size limit and rate limit)."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from vigil.ingest.otlp_receiver import span_count


def test_spans_are_counted_over_resources_and_scopes() -> None:
    request = ExportTraceServiceRequest()
    for n in (2, 3):
        scope = request.resource_spans.add().scope_spans.add()
        for _ in range(n):
            scope.spans.add()
    request.resource_spans[0].scope_spans.add().spans.add()
    assert span_count(request) == 6
