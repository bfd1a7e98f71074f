"""Prompts delivered to an app: the SDK's get_prompt over real gRPC against a real `vigil
ingest` process, which answers from a real read API over a real embedded store.

The ingest process is SIGKILLed while the app keeps asking: the SDK serves its cached
version, stale past the TTL, with no error raised; a label moved meanwhile reaches the
app within one TTL (on the SDK's driven clock) after ingest is back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from tests.conftest import INTERNAL_TOKEN, STARTUP_S, Broker, Service, _port_open, free_port
from tests.support.api_seed import ApiServer
from tests.support.polling import wait_until
from vigil.access.keyring import KeyRing
from vigil.core.rollouts import assign
from vigil.settings import Settings
from vigil.store.client import open_store
from vigil.store.migrate import migrate
from vigil_protos.v1 import prompts_pb2, prompts_pb2_grpc
from vigil_sdk import VigilClient

KEY, OTHER = "delivery-key", "delivery-other-key"
DB = "prompt_delivery_tests"
TTL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ingest:
    def __init__(self, root: Path, broker: Broker, api_url: str) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.service = Service("ingest", ["ingest"], {
            **os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "VIGIL_TOPIC_PREFIX": f"delivery{self.port}.", "VIGIL_DATA_DIR": str(root),
            "VIGIL_INGEST_LISTEN": self.target, "VIGIL_OTLP_HTTP_LISTEN": "",
            "VIGIL_API_URL": api_url, "VIGIL_API_KEYS": f"{KEY}=alpha,{OTHER}=beta",
            "VIGIL_INTERNAL_TOKEN": INTERNAL_TOKEN}, root / "ingest.log")

    def start(self) -> None:
        self.service.start()

        def listening() -> bool:
            proc = self.service.proc
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"ingest exited:\n{self.service.tail()}")
            return _port_open(self.port)

        wait_until(listening, STARTUP_S, "ingest's port")


@pytest.fixture(scope="module")
def api(store_dir: Path) -> Iterator[ApiServer]:
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    store.command(f"DROP DATABASE IF EXISTS `{DB}`")
    store.close()
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    migrate(store, 90)
    server = ApiServer(store, free_port(), [], KeyRing.parse(f"{KEY}=alpha,{OTHER}=beta"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ingest(api: ApiServer, broker: Broker, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Ingest]:
    running = Ingest(tmp_path_factory.mktemp("delivery"), broker, api.url)
    running.start()
    try:
        yield running
    finally:
        running.service.stop()


def post(api: ApiServer, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = httpx.post(f"{api.url}/v1/prompts{path}", json=body, timeout=60,
                        headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def push(api: ApiServer, name: str, *texts: str) -> None:
    for text in texts:
        post(api, f"/{name}/versions", {"messages": [
            {"role": "system", "content": "You help with orders."},
            {"role": "user", "content": text}], "model": "gpt-4o-mini",
            "params": {"temperature": 0.3}})


def test_get_prompt_over_grpc_with_a_rollout(api: ApiServer, ingest: Ingest,
                                             tmp_path: Path) -> None:
    push(api, "orders", "Where is {{order_id}}?", "Order {{order_id}}: where is it?")
    post(api, "/orders/labels/production", {"version": 1})
    rollout = post(api, "/orders/rollouts/production", {
        "to_version": 2, "percent": 30, "by": "user", "segment": {"plan": ["pro"]}})
    with VigilClient(KEY, ingest.target, app="shop", spill_dir=tmp_path / "spill",
                     prompt_timeout_s=30) as client:
        first = client.get_prompt("orders", user_id="u-0", attributes={"plan": "pro"})
        assert first is not None and not first.is_fallback, client.stats()
        assert (first.model, first.params) == ("gpt-4o-mini", {"temperature": 0.3})
        for i in range(300):
            p = client.get_prompt("orders", user_id=f"u-{i}", attributes={"plan": "pro"})
            assert p is not None
            candidate = assign(rollout["rollout_id"], f"u-{i}", 30)
            assert (p.version, p.variant) == ((2, "candidate") if candidate
                                              else (1, "control"))
        outside = client.get_prompt("orders", user_id="u-1", attributes={"plan": "free"})
        assert outside is not None and (outside.version, outside.variant) == (1, "")
        assert outside.compile(order_id=7)[1]["content"] == "Where is 7?"
        stats = client.stats()
        assert stats.prompts["fetched"] == 1 and stats.prompts["hit"] == 301
        assert "fetch_error" not in stats.prompts


def test_errors_over_grpc_say_what(api: ApiServer, ingest: Ingest) -> None:
    with grpc.insecure_channel(ingest.target) as channel:
        stub = prompts_pb2_grpc.PromptServiceStub(channel)  # type: ignore[no-untyped-call]
        cases = ((KEY, "never-pushed", grpc.StatusCode.NOT_FOUND, "vigil prompts push"),
                 (OTHER, "orders", grpc.StatusCode.NOT_FOUND, "no prompt"),
                 ("wrong-key", "orders", grpc.StatusCode.UNAUTHENTICATED, "API key"),
                 (KEY, "bad name!", grpc.StatusCode.INVALID_ARGUMENT, "is not 1-128"))
        for key, name, code, text in cases:
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetPrompt(prompts_pb2.GetPromptRequest(name=name),
                               metadata=(("authorization", f"Bearer {key}"),), timeout=60)
            assert raised.value.code() == code, (name, raised.value.details())
            assert text in (raised.value.details() or ""), raised.value.details()


def test_ingest_killed_the_app_keeps_its_prompt_and_gets_the_move_after(
        api: ApiServer, ingest: Ingest, tmp_path: Path) -> None:
    push(api, "outage", "v1 {{q}}", "v2 {{q}}")
    post(api, "/outage/labels/production", {"version": 1})
    clock = Clock()
    with VigilClient(KEY, ingest.target, app="shop", spill_dir=tmp_path / "spill",
                     prompt_ttl_s=TTL, prompt_timeout_s=10, prompt_clock=clock) as client:
        fetched = client.get_prompt("outage")
        assert fetched is not None and fetched.version == 1, client.stats()

        ingest.service.kill()
        served = []
        for _ in range(200):  # through and past the TTL, the server gone
            clock.now += 1
            p = client.get_prompt("outage", fallback=[{"role": "user", "content": "fb"}])
            served.append(p.version if p is not None else None)
        assert served == [1] * 200
        never = client.get_prompt("never-fetched", fallback="fallback {{q}}")
        assert never is not None and never.is_fallback
        stats = client.stats()
        assert stats.prompts["stale"] > 0 and stats.prompts["fetch_error"] > 0
        assert stats.prompts["fallback"] == 1

        post(api, "/outage/labels/production", {"version": 2})
        ingest.start()  # the same port
        restarted_at = clock.now
        while clock.now - restarted_at <= TTL:
            clock.now += 5  # the SDK's retry backoff after a failed refresh
            errors = client.stats().prompts.get("fetch_error", 0)
            p = client.get_prompt("outage")  # starts a background refresh
            assert p is not None

            def settled(before: int = errors) -> bool:  # this refresh answered or failed
                latest = client.get_prompt("outage")
                return (latest is not None and latest.version == 2) or \
                    client.stats().prompts.get("fetch_error", 0) > before

            wait_until(settled, 60, "the SDK's refresh to finish")
            latest = client.get_prompt("outage")
            if latest is not None and latest.version == 2:
                break
        assert latest is not None and latest.version == 2, client.stats()
        assert clock.now - restarted_at <= TTL


def test_the_prompt_service_is_listed_by_reflection(ingest: Ingest) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(ingest.target) as channel:
        answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=60)
        services = {s.name for a in answers for s in a.list_services_response.service}
    assert {"vigil.v1.PromptService", "vigil.v1.IngestService"} <= services
