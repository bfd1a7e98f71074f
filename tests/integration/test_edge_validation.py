"""Hostile input at the edge, over real gRPC on loopback: undecodable bytes, timestamps out
of range and far-future feedback answer INVALID_ARGUMENT naming the field and the rule
(never UNKNOWN, which clients retry); the good events of the same request are still
acknowledged, and ingest keeps answering."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.conftest import KEY_A, Broker, Stack
from tests.support.factories import valid_event
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = pytest.mark.integration
AUTH = (("authorization", f"Bearer {KEY_A}"),)
PLACEHOLDER = "zzzzzzzz"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("edge"), broker.bootstrap)
    s.start("ingest")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def channel(stack: Stack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(stack.target) as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> ingest_pb2_grpc.IngestServiceStub:
    return ingest_pb2_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]


def _refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _bad_utf8(message: Message) -> bytes:
    """The message serialized, its PLACEHOLDER string swapped for bytes that are not UTF-8."""
    raw = message.SerializeToString()
    assert PLACEHOLDER.encode() in raw
    return raw.replace(PLACEHOLDER.encode(), b"\xff\xfe" * (len(PLACEHOLDER) // 2))


def _span_request(name: str) -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        scope_spans=[ScopeSpans(spans=[Span(name=name)])])])


UNDECODABLE = {
    "Emit": ("/vigil.v1.IngestService/Emit",
             ingest_pb2.EmitRequest(event=pb.TraceEvent(event_id=PLACEHOLDER))),
    "EmitBatch": ("/vigil.v1.IngestService/EmitBatch",
                  ingest_pb2.EmitBatchRequest(events=[pb.TraceEvent(model=PLACEHOLDER)])),
    "SubmitFeedback": ("/vigil.v1.IngestService/SubmitFeedback", ingest_pb2.SubmitFeedbackRequest(
        feedback=pb.FeedbackEvent(trace_id=PLACEHOLDER))),
    "OTLP Export": (EXPORT, _span_request(PLACEHOLDER)),
}


@pytest.mark.parametrize("rpc", list(UNDECODABLE))
@pytest.mark.parametrize("corruption", ["wire-format", "utf-8"])
def test_undecodable_requests_are_invalid_argument(channel: grpc.Channel, stub: ingest_pb2_grpc.
                                                   IngestServiceStub, rpc: str,
                                                   corruption: str) -> None:
    method, message = UNDECODABLE[rpc]
    raw = b"\xff\xff\xff" if corruption == "wire-format" else _bad_utf8(message)
    call = channel.unary_unary(method)  # no serializer: the bytes go as they are
    err = _refusal(lambda: call(raw, metadata=AUTH, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()  # type: ignore[attr-defined]
    assert "not a valid message" in err.details()  # type: ignore[attr-defined]
    assert stub.Emit(ingest_pb2.EmitRequest(event=valid_event(1)), metadata=AUTH, timeout=10)


def test_an_undecodable_message_in_a_stream_is_invalid_argument(channel: grpc.Channel) -> None:
    good = ingest_pb2.EmitBatchRequest(events=[valid_event(2)]).SerializeToString()
    bad = _bad_utf8(ingest_pb2.EmitBatchRequest(events=[pb.TraceEvent(app=PLACEHOLDER)]))
    call = channel.stream_unary("/vigil.v1.IngestService/EmitStream")
    err = _refusal(lambda: call(iter([good, bad]), metadata=AUTH, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()  # type: ignore[attr-defined]


def _event_at(start: Timestamp, end: Timestamp) -> pb.TraceEvent:
    event = valid_event(3)
    event.start_time.CopyFrom(start)
    event.end_time.CopyFrom(end)
    return event


NOW_S = int(time.time())
YEAR_9999 = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())
OUT_OF_RANGE = {
    "end-in-year-9999": (Timestamp(seconds=NOW_S), Timestamp(seconds=YEAR_9999), "end_time",
                         "ahead of the server's clock"),
    "start-2^62-seconds": (Timestamp(seconds=2**62), Timestamp(seconds=2**62), "start_time",
                           "ahead of the server's clock"),
    "start-minus-2^62-seconds": (Timestamp(seconds=-2**62), Timestamp(seconds=NOW_S),
                                 "start_time", "before 2000-01-01"),
    "nanos-1999999999": (Timestamp(seconds=NOW_S - 5, nanos=1_999_999_999),
                         Timestamp(seconds=NOW_S), "start_time", "nanos"),
    "nanos-minus-5": (Timestamp(seconds=NOW_S - 5), Timestamp(seconds=NOW_S, nanos=-5),
                      "end_time", "nanos"),
    "two-day-call": (Timestamp(seconds=NOW_S - 2 * 86_400), Timestamp(seconds=NOW_S),
                     "end_time", "a call lasts at most 86400 s"),
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_timestamps_out_of_range_are_invalid_argument_naming_the_field(
        stub: ingest_pb2_grpc.IngestServiceStub, case: str) -> None:
    start, end, field, rule = OUT_OF_RANGE[case]
    err = _refusal(lambda: stub.Emit(ingest_pb2.EmitRequest(event=_event_at(start, end)),
                                     metadata=AUTH, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()  # type: ignore[attr-defined]
    assert f"{field} " in err.details() and rule in err.details()  # type: ignore[attr-defined]
    assert dict(err.trailing_metadata())["vigil-field"] == field  # type: ignore[attr-defined]

    answer = stub.EmitBatch(ingest_pb2.EmitBatchRequest(
        events=[_event_at(start, end), valid_event(4)]), metadata=AUTH, timeout=10)
    assert (answer.accepted, answer.rejected) == (1, 1)
    assert (answer.results[0].code, answer.results[0].field) == (3, field)
    assert rule in answer.results[0].reason and answer.results[1].code == 0


@pytest.mark.parametrize(("moment", "rule"), [
    (Timestamp(seconds=2**62), "ahead of the server's clock"),
    (Timestamp(seconds=NOW_S + 2 * 86_400), "ahead of the server's clock"),
    (Timestamp(seconds=-2**62), "before 2000-01-01"),
    (Timestamp(seconds=NOW_S, nanos=-5), "nanos"),
], ids=["2^62-seconds", "in-two-days", "minus-2^62-seconds", "nanos-minus-5"])
def test_feedback_at_an_impossible_time_is_invalid_argument(
        stub: ingest_pb2_grpc.IngestServiceStub, moment: Timestamp, rule: str) -> None:
    feedback = pb.FeedbackEvent(trace_id="t1", kind=pb.FEEDBACK_KIND_THUMBS, value=1.0,
                                time=moment)
    err = _refusal(lambda: stub.SubmitFeedback(
        ingest_pb2.SubmitFeedbackRequest(feedback=feedback), metadata=AUTH, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()  # type: ignore[attr-defined]
    assert "time " in err.details() and rule in err.details()  # type: ignore[attr-defined]
    feedback.time.GetCurrentTime()
    assert stub.SubmitFeedback(ingest_pb2.SubmitFeedbackRequest(feedback=feedback),
                               metadata=AUTH, timeout=10).feedback_id


def _llm_span(trace_id: bytes, span_id: bytes) -> Span:
    now = time.time_ns()
    return Span(trace_id=trace_id, span_id=span_id, name="chat",
                start_time_unix_nano=now - 10**9, end_time_unix_nano=now, attributes=[
                    KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o"))])


def test_otlp_grpc_spans_with_short_ids_are_rejected_beside_good_ones(
        channel: grpc.Channel) -> None:
    request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        scope_spans=[ScopeSpans(spans=[_llm_span(b"abc", b"\x01" * 8),
                                       _llm_span(b"\x02" * 16, b"\x03" * 8)])])])
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
    answer = stub.Export(request, metadata=AUTH, timeout=10)
    assert answer.partial_success.rejected_spans == 1
    assert "trace_id is 3 bytes, it must be 16" in answer.partial_success.error_message
