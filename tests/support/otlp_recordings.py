"""OTLP requests recorded from the real instrumentation libraries
(tests/unit/ingest/testdata/otlp/<library>.{traces,logs}.json, protobuf JSON), replayed as
new: every trace id replaced by a fresh one (the same for a span and its log records) and
every time shifted so that the last span ends at `now`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TESTDATA = Path(__file__).parents[1] / "unit" / "ingest" / "testdata" / "otlp"


def load(library: str, kind: str) -> Any:
    request = ExportTraceServiceRequest() if kind == "traces" else ExportLogsServiceRequest()
    return json_format.Parse((TESTDATA / f"{library}.{kind}.json").read_text(), request)


def replay(library: str, with_logs: bool = False, now_ns: int | None = None
           ) -> tuple[ExportTraceServiceRequest, ExportLogsServiceRequest | None, list[str]]:
    """The library's recorded spans (and log records) with fresh trace ids, and those ids
    in the order of the recorded calls."""
    traces = load(library, "traces")
    spans = [s for r in traces.resource_spans for sc in r.scope_spans for s in sc.spans]
    shift = (now_ns or time.time_ns()) - max(s.end_time_unix_nano for s in spans)
    fresh: dict[bytes, bytes] = {}
    for span in sorted(spans, key=lambda s: s.start_time_unix_nano):
        span.trace_id = fresh.setdefault(span.trace_id, os.urandom(16))
        span.start_time_unix_nano += shift
        span.end_time_unix_nano += shift
    logs = None
    if with_logs:
        logs = load(library, "logs")
        for r in logs.resource_logs:
            for sc in r.scope_logs:
                for record in sc.log_records:
                    record.trace_id = fresh[record.trace_id]
                    for name in ("time_unix_nano", "observed_time_unix_nano"):
                        if getattr(record, name):
                            setattr(record, name, getattr(record, name) + shift)
    return traces, logs, [t.hex() for t in fresh.values()]
