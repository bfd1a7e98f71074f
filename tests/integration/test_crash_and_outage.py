"""Faults on real parts: the sink or enrich SIGKILLed mid-stream, the broker gone and
back (part of the reliability suite: `make chaos`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import grpc
import pytest

from tests.conftest import KEY_A, Broker, Stack, free_port, wait_until
from tests.support.chaos import record_fault
from tests.support.factories import valid_event
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("crash"), broker.bootstrap,
              VIGIL_SINK_BATCH_ROWS="500", VIGIL_SINK_BATCH_SECONDS="0.2")
    s.start("sink", "enrich", "ingest")
    yield s
    s.stop()


async def _emit_batches(target: str, batches: int, size: int, accepted: list[int],
                        done: threading.Event) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for b in range(batches):
            events = [valid_event(b * size + i) for i in range(size)]
            response = await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=events),
                                            metadata=AUTH_A, timeout=30)
            accepted.append(response.accepted)
            await asyncio.sleep(0.1)  # paces the load so the kills land mid-stream
    done.set()


@pytest.mark.parametrize("victim", ["sink", "enrich"])
def test_a_stage_killed_mid_stream_stores_every_accepted_event_once(stack: Stack,
                                                                    victim: str) -> None:
    accepted: list[int] = []
    done = threading.Event()
    sender = threading.Thread(
        target=lambda: asyncio.run(_emit_batches(stack.target, 60, 100, accepted, done)))
    sender.start()
    service = stack.service(victim)
    for threshold in (1500, 3000, 4500):  # kill while the load is running, at its progress
        wait_until(lambda t=threshold: sum(accepted) >= t, 90, f"{threshold} events accepted")
        assert wait_until(lambda: stack.get("/v1/stats")["traces"], 90, "rows stored")
        service.kill()
        service.start()
        if victim == "sink":
            stack.wait_api()
    sender.join(120)
    assert done.is_set() and sum(accepted) == 6000

    stats = wait_until(lambda: (s := stack.get("/v1/stats"))["traces"] >= 6000 and s, 120,
                       "all accepted events stored")
    record_fault(f"{victim} SIGKILLed 3 times under load", sent=6000, accepted=sum(accepted),
                 stored=stats["traces"], distinct=stats["distinct_event_ids"])
    assert stats["traces"] == 6000
    assert stats["distinct_event_ids"] == 6000


async def _emit_code(target: str, timeout: float = 20) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            await ingest_pb2_grpc.IngestServiceStub(channel).Emit(
                ingest_pb2.EmitRequest(event=valid_event(3)), metadata=AUTH_A, timeout=timeout)
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK


def test_broker_down_answers_unavailable_then_recovers(tmp_path_factory: pytest.TempPathFactory
                                                       ) -> None:
    root = tmp_path_factory.mktemp("outage")
    own = Broker(free_port(), root / "broker.log")
    own.start()
    stack = Stack(root, own.bootstrap, VIGIL_ACK_TIMEOUT_S="2")
    codes: list[grpc.StatusCode] = []

    def emit() -> grpc.StatusCode:
        codes.append(asyncio.run(_emit_code(stack.target)))
        return codes[-1]

    try:
        stack.start("ingest")
        assert wait_until(lambda: emit() == grpc.StatusCode.OK, 60, "a first acknowledged Emit")
        own.kill()
        # The client deadline (20 s) bounds the answer: DEADLINE_EXCEEDED would fail this.
        assert emit() == grpc.StatusCode.UNAVAILABLE
        assert emit() == grpc.StatusCode.UNAVAILABLE
        own.start()
        wait_until(lambda: emit() == grpc.StatusCode.OK, 90,
                   "Emit acknowledged again once the broker is back")
        # the embedded broker keeps nothing across a kill: storage is not what this proves
        record_fault("broker SIGKILLed, then restarted (ingest's answers)", sent=len(codes),
                     accepted=codes.count(grpc.StatusCode.OK), stored=None, distinct=None,
                     unavailable=codes.count(grpc.StatusCode.UNAVAILABLE))
    finally:
        stack.stop()
        own.kill()
