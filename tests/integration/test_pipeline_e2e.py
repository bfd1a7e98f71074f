"""End to end on real parts: gRPC over loopback -> ingest -> broker -> enrich -> sink ->
embedded ClickHouse -> read API."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from genai_prices import Usage, calc_price

from tests.conftest import (
    INTERNAL_TOKEN,
    KEY_A,
    KEY_B,
    PROJECT_A,
    PROJECT_B,
    Broker,
    Stack,
    wait_until,
)
from tests.support.factories import invalid_events, valid_event
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = pytest.mark.integration
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
# The counting test has a project of its own: the other tests of the module store traces
# in project A, and in a random order they may run first.
KEY_C, PROJECT_C = "test-key-c", "project-c"
AUTH_C = (("authorization", f"Bearer {KEY_C}"),)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("e2e"), broker.bootstrap, VIGIL_API_KEYS=(
        f"{KEY_A}={PROJECT_A},{KEY_B}={PROJECT_B},{KEY_C}={PROJECT_C}"))
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


async def _send_all(target: str, events: list[pb.TraceEvent],
                    invalid: list[tuple[str, pb.TraceEvent]]) -> dict[str, object]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        emit, batch, stream = events[:300], events[300:700], events[700:]
        await asyncio.gather(*(stub.Emit(ingest_pb2.EmitRequest(event=e), metadata=AUTH_C,
                                         timeout=30) for e in emit))
        batch_responses = [
            await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=batch[i:i + 100]),
                                 metadata=AUTH_C, timeout=30)
            for i in range(0, len(batch), 100)
        ]

        async def messages():  # type: ignore[no-untyped-def]
            for i in range(0, len(stream), 100):
                yield ingest_pb2.EmitBatchRequest(events=stream[i:i + 100])

        stream_response = await stub.EmitStream(messages(), metadata=AUTH_C, timeout=30)
        # half of the invalid events one by one, half in a batch with valid neighbours
        singles, in_batch = invalid[:10], invalid[10:]
        single_errors = []
        for field, event in singles:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Emit(ingest_pb2.EmitRequest(event=event), metadata=AUTH_C, timeout=30)
            single_errors.append((field, err.value))
        mixed = await stub.EmitBatch(
            ingest_pb2.EmitBatchRequest(events=[e for _, e in in_batch]), metadata=AUTH_C,
            timeout=30)
        return {"batch": batch_responses, "stream": stream_response,
                "single_errors": single_errors, "mixed": mixed}


def test_events_reach_the_store_once_with_cost_and_feedback(stack: Stack) -> None:
    events = [valid_event(i) for i in range(1000)]
    invalid = invalid_events()
    answers = asyncio.run(_send_all(stack.target, events, invalid))

    assert all(r.accepted == 100 and r.rejected == 0 for r in answers["batch"])
    assert answers["stream"].accepted == 300 and answers["stream"].rejected == 0
    assert len(answers["stream"].results) == 300
    for field, error in answers["single_errors"]:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error.details(), (field, error.details())
    mixed = answers["mixed"]
    assert (mixed.accepted, mixed.rejected) == (0, 10)
    for (field, _), result in zip(invalid[10:], mixed.results, strict=True):
        assert result.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert result.field == field, (result.field, result.reason)

    feedback_on = events[:40]
    asyncio.run(_send_feedback(stack.target, feedback_on))

    stats = wait_until(lambda: (s := stack.get("/v1/stats", key=KEY_C))["traces"] >= 1000
                       and s["feedback"] >= 40 and s, 120, "1,000 traces and 40 feedback")
    assert stats["traces"] == 1000
    assert stats["distinct_event_ids"] == 1000
    assert stats["feedback"] == 40
    assert stats["project_id"] == PROJECT_C

    expected: dict[str, float] = defaultdict(float)
    for e in events:
        price = calc_price(Usage(input_tokens=e.input_tokens, output_tokens=e.output_tokens,
                                 cache_read_tokens=e.cached_input_tokens),
                           model_ref=e.model, provider_id=e.provider)
        expected[e.model] += float(price.total_price)
    stored = {m["model"]: m["cost_usd"] for m in stats["by_model"]}
    assert stored.keys() == expected.keys()
    for model, cost in expected.items():
        assert stored[model] == pytest.approx(cost, rel=1e-9), model

    trace = stack.get(f"/v1/traces/{events[0].trace_id}", key=KEY_C)
    assert [c["event_id"] for c in trace["calls"]] == [events[0].event_id]
    assert [f["kind"] for f in trace["feedback"]] == ["thumbs"]

    other = stack.get("/v1/stats", key=KEY_B)
    assert other["traces"] == 0 and other["feedback"] == 0


async def _send_feedback(target: str, events: list[pb.TraceEvent]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for e in events:
            await stub.SubmitFeedback(ingest_pb2.SubmitFeedbackRequest(
                feedback=pb.FeedbackEvent(trace_id=e.trace_id, kind=pb.FEEDBACK_KIND_THUMBS,
                                          value=1.0, user_id=e.user_id)),
                metadata=AUTH_C, timeout=30)


def test_no_key_or_a_wrong_key_is_unauthenticated(stack: Stack) -> None:
    async def call(metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
        async with grpc.aio.insecure_channel(stack.target) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            try:
                await stub.Emit(ingest_pb2.EmitRequest(event=valid_event(1)), metadata=metadata,
                                timeout=30)
            except grpc.aio.AioRpcError as err:
                return err.code()
            return grpc.StatusCode.OK

    assert asyncio.run(call(())) == grpc.StatusCode.UNAUTHENTICATED
    assert asyncio.run(call((("authorization", "Bearer nope"),))) == \
        grpc.StatusCode.UNAUTHENTICATED


def test_the_project_comes_from_the_key(stack: Stack, tmp_path: Path) -> None:
    event = valid_event(7, attributes={"project_id": "project-b"})
    asyncio.run(_emit(stack.target, event))
    wait_until(lambda: stack.get(f"/v1/traces/{event.trace_id}"), 60, "the trace in project A")
    with pytest.raises(Exception, match="404"):
        stack.get(f"/v1/traces/{event.trace_id}", key=KEY_B)


async def _emit(target: str, event: pb.TraceEvent) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        await ingest_pb2_grpc.IngestServiceStub(channel).Emit(
            ingest_pb2.EmitRequest(event=event), metadata=AUTH_A, timeout=30)


def test_a_poison_raw_record_is_dead_lettered_and_its_neighbours_stored(stack: Stack) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from vigil.kafka import topics as t
    from vigil.kafka.signing import sign

    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    raw = f"{stack.prefix}traces.raw"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    poison = b"\xff\xfe definitely not protobuf"  # signed: as if ingest had written it
    meta = producer.send(raw, poison, partition=2,
                         headers=[sign(INTERNAL_TOKEN.encode(), poison)]).get(30)
    producer.close()
    good = valid_event(99)
    asyncio.run(_emit(stack.target, good))

    consumer = KafkaConsumer(t.dlq(raw), bootstrap_servers=bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=60_000)
    dead = next(iter(consumer))
    consumer.close()
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"\xff\xfe definitely not protobuf"
    assert headers[t.H_STAGE] == "enrich"
    assert "TraceBatch" in headers[t.H_REASON]
    assert (headers[t.H_SOURCE_PARTITION], headers[t.H_SOURCE_OFFSET]) == ("2", str(meta.offset))
    wait_until(lambda: stack.get(f"/v1/traces/{good.trace_id}"), 60, "the good event stored")


def test_oversize_requests_get_a_clear_error(stack: Stack) -> None:
    async def codes() -> tuple[grpc.aio.AioRpcError, grpc.aio.AioRpcError]:
        async with grpc.aio.insecure_channel(
                stack.target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
        ) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            huge = [valid_event(i, completion="z" * 200_000) for i in range(100)]  # ~20 MB
            with pytest.raises(grpc.aio.AioRpcError) as too_big:
                await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=huge), metadata=AUTH_A,
                                     timeout=30)
            many = [valid_event(i) for i in range(10_001)]
            with pytest.raises(grpc.aio.AioRpcError) as too_many:
                await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=many), metadata=AUTH_A,
                                     timeout=30)
            return too_big.value, too_many.value

    too_big, too_many = asyncio.run(codes())
    assert too_big.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (too_big.details() or "")
    assert too_many.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "10001 events in one message, the limit is 10000" in (too_many.details() or "")


def test_health_and_reflection_are_served(stack: Stack) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(stack.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="vigil.v1.IngestService"), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        services = {s.name for a in answers for s in a.list_services_response.service}
    assert {"vigil.v1.IngestService", "grpc.health.v1.Health"} <= services
