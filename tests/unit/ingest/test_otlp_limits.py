"""Bounded gunzip of OTLP/HTTP bodies: a gzip bomb never inflates past the limit."""

from __future__ import annotations

import gzip

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from vigil.ingest.otlp_receiver import gunzip_bounded, span_count


def test_a_body_within_the_limit_is_decompressed() -> None:
    assert gunzip_bounded(gzip.compress(b"a" * 1000), 1000) == b"a" * 1000


def test_a_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB that would inflate to 50 MB
    assert len(bomb) < 100_000
    with pytest.raises(OverflowError, match="larger than 1000000 bytes once decompressed"):
        gunzip_bounded(bomb, 1_000_000)


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"x" * 100)[:-12]])
def test_broken_gzip_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="not valid gzip"):
        gunzip_bounded(body, 1_000_000)


def test_spans_are_counted_over_resources_and_scopes() -> None:
    request = ExportTraceServiceRequest()
    for n in (2, 3):
        scope = request.resource_spans.add().scope_spans.add()
        for _ in range(n):
            scope.spans.add()
    request.resource_spans[0].scope_spans.add().spans.add()
    assert span_count(request) == 6
