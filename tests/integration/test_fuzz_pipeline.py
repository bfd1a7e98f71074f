"""Hypothesis over every field of the trace and feedback events, through real gRPC into
the whole write path (ingest -> enrich -> sink -> store): after each case the store
owner is alive and a good event sent next is stored. What ingest accepts must never
stop a later stage: a feedback time of 2^62 s once stopped the sink on every restart
(reliability suite). `VIGIL_FUZZ_EXAMPLES` raises the count for a long run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import KEY_A, Broker, Stack, wait_until
from tests.support.factories import valid_event
from tests.support.fuzz import FUZZ, apply, message
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
PIPELINE = settings(FUZZ, max_examples=int(os.environ.get("VIGIL_FUZZ_EXAMPLES", "25")))
STAGES = ("ingest", "enrich", "sink")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("fuzz-pipeline"), broker.bootstrap,
              VIGIL_SINK_BATCH_SECONDS="0.2")
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def stub(stack: Stack) -> Iterator[ingest_pb2_grpc.IngestServiceStub]:
    with grpc.insecure_channel(stack.target) as channel:
        yield ingest_pb2_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]


def _send(rpc: object, request: object) -> None:
    try:
        rpc(request, metadata=AUTH_A, timeout=30)  # type: ignore[operator]
    except grpc.RpcError as err:
        assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT,  # type: ignore[attr-defined]
                              grpc.StatusCode.RESOURCE_EXHAUSTED), err.details()  # type: ignore[attr-defined]


def _the_pipeline_still_stores(stack: Stack, stub: ingest_pb2_grpc.IngestServiceStub) -> None:
    good = valid_event(1)
    stub.Emit(ingest_pb2.EmitRequest(event=good), metadata=AUTH_A, timeout=30)
    for name in STAGES:
        proc = stack.service(name).proc
        assert proc is not None and proc.poll() is None, stack.service(name).tail()
    wait_until(lambda: stack.get(f"/v1/traces/{good.trace_id}"), 90,
               "a good event sent after the case stored")


@PIPELINE
@given(values=message(pb.TraceEvent.DESCRIPTOR), batch=st.booleans())
@example(values={"end_time": {"seconds": 253402300799}}, batch=False)  # year 9999
@example(values={"start_time": {"seconds": 2**62}, "end_time": {"seconds": 2**62}},
         batch=True)
def test_after_any_trace_event_the_pipeline_stores_the_next_good_one(
        values: dict[str, object], batch: bool, stub: ingest_pb2_grpc.IngestServiceStub,
        stack: Stack) -> None:
    event = apply(valid_event(7), values)
    if batch:
        _send(stub.EmitBatch, ingest_pb2.EmitBatchRequest(events=[event, valid_event(8)]))
    else:
        _send(stub.Emit, ingest_pb2.EmitRequest(event=event))
    _the_pipeline_still_stores(stack, stub)


@PIPELINE
@given(values=message(pb.FeedbackEvent.DESCRIPTOR))
@example(values={"time": {"seconds": 2**62}})  # once stopped the sink on every restart
@example(values={"time": {"seconds": 1_700_000_000, "nanos": 1_999_999_999}})
def test_after_any_feedback_event_the_pipeline_stores_the_next_good_one(
        values: dict[str, object], stub: ingest_pb2_grpc.IngestServiceStub,
        stack: Stack) -> None:
    feedback = apply(pb.FeedbackEvent(trace_id="t1", kind=pb.FEEDBACK_KIND_THUMBS, value=1.0),
                     values)
    _send(stub.SubmitFeedback, ingest_pb2.SubmitFeedbackRequest(feedback=feedback))
    _the_pipeline_still_stores(stack, stub)
