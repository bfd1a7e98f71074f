"""Load for the reliability suite: clients that emit paced batches over real gRPC and,
like the SDK, resend a batch with the same event ids after a transient answer."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from tests.conftest import KEY_A
from tests.support.factories import valid_event
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                     grpc.StatusCode.DEADLINE_EXCEEDED})


@dataclass
class Load:
    """`clients` concurrent clients, each sending `batches` batches of `size` events."""

    target: str
    batches: int
    size: int
    clients: int = 1
    pause_s: float = 0.1  # between a client's batches: the kills land mid-stream
    accepted: list[int] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    details: Counter[str] = field(default_factory=Counter)  # messages of refused calls
    done: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.clients * self.batches * self.size

    @property
    def acked(self) -> int:
        return sum(self.accepted)

    def start(self) -> Load:
        threading.Thread(target=self._run, name="load", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._all())
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.done.set()

    async def _all(self) -> None:
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            await asyncio.gather(*(self._client(stub, c) for c in range(self.clients)))

    async def _client(self, stub: ingest_pb2_grpc.IngestServiceStub, client: int) -> None:
        for b in range(self.batches):
            first = (client * self.batches + b) * self.size
            request = ingest_pb2.EmitBatchRequest(
                events=[valid_event(first + i) for i in range(self.size)])
            backoff = 0.05
            while True:  # the same request, the same event ids, until it is acknowledged
                try:
                    response = await stub.EmitBatch(request, metadata=AUTH_A, timeout=30)
                except grpc.aio.AioRpcError as err:
                    self.answers[err.code().name] += 1
                    if err.code() not in RETRIED:
                        raise
                    self.details[(err.details() or "").split(":")[0]] += 1
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
                    continue
                self.answers["OK"] += 1
                self.accepted.append(response.accepted)
                break
            await asyncio.sleep(self.pause_s)


def rss_bytes(pid: int) -> int:
    """The resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
