"""Hypothesis over every field of the ingest messages, sent through real gRPC to a
running ingest: each answer is OK or a refusal with a reason (INVALID_ARGUMENT,
RESOURCE_EXHAUSTED), never UNKNOWN or INTERNAL, and ingest stays up
(reliability suite)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import given

from tests.conftest import KEY_A, Broker, Stack
from tests.support.chaos import record_fault
from tests.support.factories import valid_event
from tests.support.fuzz import FUZZ, apply, message
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
ANSWERS = frozenset({grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT,
                     grpc.StatusCode.RESOURCE_EXHAUSTED})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("fuzz-ingest"), broker.bootstrap)
    s.start("ingest")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def stub(stack: Stack) -> Iterator[ingest_pb2_grpc.IngestServiceStub]:
    with grpc.insecure_channel(stack.target) as channel:
        yield ingest_pb2_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def tally(stack: Stack) -> Iterator[Counter[str]]:
    answers: Counter[str] = Counter()
    yield answers
    ingest = stack.service("ingest")
    record_fault("hypothesis over every TraceEvent/FeedbackEvent field via gRPC",
                 sent=answers.total(), accepted=answers["OK"], stored=None, distinct=None,
                 answers=dict(answers),
                 ingest_up=ingest.proc is not None and ingest.proc.poll() is None)


def _call(tally: Counter[str], rpc: object, request: object) -> grpc.StatusCode:
    try:
        rpc(request, metadata=AUTH_A, timeout=30)  # type: ignore[operator]
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()  # type: ignore[attr-defined]
        tally[code.name] += 1
        assert code in ANSWERS, (code, err.details())  # type: ignore[attr-defined]
        assert err.details(), "a refusal without a reason"  # type: ignore[attr-defined]
        return code
    tally["OK"] += 1
    return grpc.StatusCode.OK


@FUZZ
@given(values=message(pb.TraceEvent.DESCRIPTOR))
def test_any_trace_event_gets_an_answer_with_a_reason(
        values: dict[str, object], stub: ingest_pb2_grpc.IngestServiceStub, stack: Stack,
        tally: Counter[str]) -> None:
    event = apply(valid_event(7), values)
    _call(tally, stub.Emit, ingest_pb2.EmitRequest(event=event))
    _call(tally, stub.EmitBatch, ingest_pb2.EmitBatchRequest(events=[event, valid_event(8)]))
    ingest = stack.service("ingest")
    assert ingest.proc is not None and ingest.proc.poll() is None, ingest.tail()


@FUZZ
@given(values=message(pb.FeedbackEvent.DESCRIPTOR))
def test_any_feedback_event_gets_an_answer_with_a_reason(
        values: dict[str, object], stub: ingest_pb2_grpc.IngestServiceStub, stack: Stack,
        tally: Counter[str]) -> None:
    feedback = apply(pb.FeedbackEvent(trace_id="t1", kind=pb.FEEDBACK_KIND_THUMBS, value=1.0),
                     values)
    _call(tally, stub.SubmitFeedback, ingest_pb2.SubmitFeedbackRequest(feedback=feedback))
    ingest = stack.service("ingest")
    assert ingest.proc is not None and ingest.proc.poll() is None, ingest.tail()
