"""Horizontal scaling on real parts: two enrich and two sink workers share the partitions
of one broker; one of each is SIGKILLed under load and the survivors take over every
partition, with no event lost or stored twice.

The second sink owns no store: it writes through the first sink's read API
(VIGIL_STORE_WRITER_URL), the embedded store admitting one process only.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator

import grpc
import httpx
import pytest

from tests.conftest import KEY_A, Broker, Service, Stack, wait_until
from tests.support.factories import valid_event
from vigil.kafka.lag import group_members
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = pytest.mark.integration
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
Assignment = dict[str, set[str]]


class Load:
    """Batches of 100 events over gRPC, ten a second, until stopped; counts what ingest
    acknowledged."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.accepted = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="load")

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._emit())
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    async def _emit(self) -> None:
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            b = 0
            while not self.stop.is_set():
                events = [valid_event(b * 100 + i) for i in range(100)]
                response = await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=events),
                                                metadata=AUTH_A, timeout=30)
                self.accepted += response.accepted
                b += 1
                await asyncio.sleep(0.1)


def held(service: Service) -> set[str]:
    """The partitions the worker last logged as assigned to it ("topic:partition"): the
    local broker (Tansu) describes a group's members but not their assignments."""
    latest: set[str] = set()
    for line in service.log.read_text(errors="replace").splitlines():
        if '"partitions assigned"' in line:  # faust may put a terminal code before it
            latest = set(json.loads(line[line.index("{"):])["partitions"])
    return latest


def shared(bootstrap: str, group: str, workers: list[Service]) -> Assignment:
    """{member id or worker name: partitions} once the group has one member per worker and
    the workers' assignments split the partitions between them; else empty."""
    ids = group_members(bootstrap, group)
    parts = {w.name: held(w) for w in workers}
    split = all(parts.values()) and sum(map(len, parts.values())) == len(set().union(
        *parts.values()))
    return {"members": set(ids), **parts} if len(ids) == len(workers) and split else {}


def second(stack: Stack, name: str, command: str, **env: str) -> Service:
    service = Service(name, [command], {**stack.env, **env}, stack.root / f"{name}.log")
    stack.services[name] = service
    return service.start()


def owner_rows(stack: Stack) -> float:
    """Rows other sinks wrote through the owner's endpoint (its /metrics)."""
    text = httpx.get(f"{stack.api_url}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(
        r'^vigil_store_owner_rows_total\{outcome="written",table="traces"\} (\S+)$', text,
        re.MULTILINE))


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("scaling"), broker.bootstrap,
              VIGIL_SINK_BATCH_ROWS="500", VIGIL_SINK_BATCH_SECONDS="0.2")
    try:
        s.start("sink")  # the store owner, serving the API
        second(s, "sink-2", "sink", VIGIL_STORE_WRITER_URL=s.api_url)
        s.start("enrich")
        second(s, "enrich-2", "enrich")
        s.start("ingest")
        yield s
    finally:
        s.stop()


def test_two_workers_per_stage_share_partitions_and_survive_losing_one(stack: Stack,
                                                                       broker: Broker) -> None:
    svc = stack.services
    stages = {"enrich": [svc["enrich"], svc["enrich-2"]], "sink": [svc["sink"], svc["sink-2"]]}
    group = {stage: f"{stack.prefix}{stage}" for stage in stages}
    with Load(stack.target) as load:
        before = {stage: wait_until(lambda s=stage: shared(broker.bootstrap, group[s],
                                                           stages[s]),
                                    120, f"two {stage} workers sharing the partitions")
                  for stage in stages}
        wait_until(lambda: owner_rows(stack) > 0, 90, "rows written through the owner")
        wait_until(lambda: load.accepted >= 3000, 90, "3000 events accepted")

        svc["enrich-2"].kill()
        svc["sink-2"].kill()
        killed_at = load.accepted
        every = {stage: before[stage][workers[0].name] | before[stage][workers[1].name]
                 for stage, workers in stages.items()}
        after = {stage: wait_until(
            lambda s=stage: (len(a := shared(broker.bootstrap, group[s], stages[s][:1])) == 2
                             and a[stages[s][0].name] == every[s] and a),
            120, f"the surviving {stage} worker holding every partition") for stage in stages}
        wait_until(lambda: load.accepted >= killed_at + 3000, 90, "3000 more events accepted")
    assert load.error is None, load.error

    for stage, workers in stages.items():
        assert after[stage]["members"] < before[stage]["members"]  # the survivor lived on
        print(f"{stage}: before " + ", ".join(f"{w.name} {len(before[stage][w.name])}"
                                              for w in workers)
              + f" of {len(every[stage])} partitions ({len(before[stage]['members'])} members);"
              f" after {workers[0].name} {len(after[stage][workers[0].name])} "
              f"({len(after[stage]['members'])} member)")
    stats = wait_until(lambda: (s := stack.get("/v1/stats"))["traces"] >= load.accepted and s,
                       120, "every accepted event stored")
    print(f"accepted {load.accepted} ({killed_at} before the kills), stored "
          f"{stats['traces']} ({stats['distinct_event_ids']} distinct); written by sink-2 "
          f"through the owner: {owner_rows(stack):.0f} rows")
    assert stats["traces"] == load.accepted
    assert stats["distinct_event_ids"] == load.accepted
