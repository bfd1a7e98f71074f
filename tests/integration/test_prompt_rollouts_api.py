"""Rollouts through the read API over a real embedded store and real HTTP: start, change,
stop and their exact history, the delivery answer with the candidate, refusals with a
reason, key scopes and project isolation, concurrent starts."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.support.api_seed import ApiServer
from vigil.access.keyring import KeyRing
from vigil.api.prompt_delivery import PromptDelivery
from vigil.api.prompt_registry import PromptRegistry
from vigil.core.prompts import parse_content
from vigil.core.rollouts import RolloutPlan
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate
from vigil.store.writer import LocalStoreWriter

WRITE, READ, OTHER = "rollout-writer-key", "rollout-reader-key", "rollout-other-key"
DB = "prompt_rollouts_api_tests"


@pytest.fixture(scope="module")
def served(store_dir: Path) -> Iterator[tuple[ApiServer, Store]]:
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    store.command(f"DROP DATABASE IF EXISTS `{DB}`")
    store.close()
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    migrate(store, 90)
    server = ApiServer(store, free_port(), [],
                       KeyRing.parse(f"{WRITE}=alpha,{READ}=alpha:read,{OTHER}=beta"))
    server.start()
    try:
        yield server, store
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(served: tuple[ApiServer, Store]) -> ApiServer:
    return served[0]


def call(api: ApiServer, method: str, path: str, key: str = WRITE, **kwargs: Any
         ) -> httpx.Response:
    return httpx.request(method, f"{api.url}/v1/prompts{path}", timeout=60,
                         headers={"Authorization": f"Bearer {key}"}, **kwargs)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def versions(api: ApiServer, name: str, n: int, label_at: int | None = 1) -> None:
    for i in range(1, n + 1):
        ok(call(api, "POST", f"/{name}/versions",
                json={"messages": [{"role": "user", "content": f"text {i} {{{{q}}}}"}]}), 201)
    if label_at:
        ok(call(api, "POST", f"/{name}/labels/production", json={"version": label_at}))


def test_start_change_stop_with_exact_history_and_delivery(api: ApiServer) -> None:
    versions(api, "support", 3)
    plain = ok(call(api, "GET", "/support/delivery"))
    assert (plain["label"], plain["prompt"]["version"], plain["rollout"]) == (
        "production", 1, None)
    started = ok(call(api, "POST", "/support/rollouts/production", json={
        "to_version": 2, "percent": 20, "by": "session",
        "segment": {"plan": ["pro", "team"], "region": ["eu"]},
        "guards": ["latency", "quality"], "auto_promote": True}))
    assert (started["action"], started["rollout_id"], started["control_version"],
            started["candidate_version"], started["percent"], started["by"],
            started["segment"], started["guards"], started["auto_promote"],
            started["changed_by"]) == (
        "start", "support:production#1", 1, 2, 20.0, "session",
        {"plan": ["pro", "team"], "region": ["eu"]}, ["quality", "latency"], True, "env-1")

    delivered = ok(call(api, "GET", "/support/delivery", READ, params={"label": "production"}))
    assert delivered["prompt"]["version"] == 1
    assert delivered["rollout"]["candidate"]["version"] == 2
    assert delivered["rollout"]["candidate"]["messages"] == [
        {"role": "user", "content": "text 2 {{q}}"}]
    assert delivered["rollout"]["percent"] == 20.0

    changed = ok(call(api, "POST", "/support/rollouts/production",
                      json={"to_version": 2, "percent": 50}))
    assert (changed["action"], changed["rollout_id"], changed["percent"], changed["by"],
            changed["segment"]) == ("change", "support:production#1", 50.0, "user", {})
    refused = call(api, "POST", "/support/rollouts/production",
                   json={"to_version": 3, "percent": 5})
    assert refused.status_code == 409
    assert "rolling out version 2: stop it first" in refused.json()["detail"]

    stopped = ok(call(api, "POST", "/support/rollouts/production/stop"))
    assert (stopped["action"], stopped["percent"]) == ("stop", 0.0)
    assert ok(call(api, "GET", "/support/delivery"))["rollout"] is None
    status = ok(call(api, "GET", "/support/rollouts/production", READ))
    assert (status["rollout"], status["label_version"]) == (None, 1)
    assert [(h["seq"], h["action"], h["percent"]) for h in status["history"]] == [
        (3, "stop", 0.0), (2, "change", 50.0), (1, "start", 20.0)]
    again = ok(call(api, "POST", "/support/rollouts/production",
                    json={"to_version": 3, "percent": 5}))
    assert (again["action"], again["rollout_id"]) == ("start", "support:production#4")


def test_refusals_say_what_to_do(api: ApiServer) -> None:
    versions(api, "refused", 2, label_at=None)
    no_label = call(api, "POST", "/refused/rollouts/production",
                    json={"to_version": 2, "percent": 10})
    assert no_label.status_code == 404
    assert "vigil prompts label refused VERSION production" in no_label.json()["detail"]
    ok(call(api, "POST", "/refused/labels/production", json={"version": 1}))
    for body, status, text in (
            ({"to_version": 1, "percent": 10}, 409, "points at version 1 already"),
            ({"to_version": 9, "percent": 10}, 404, "no version 9"),
            ({"to_version": 2, "percent": 101}, 422, "less than or equal to 100"),
            ({"to_version": 2, "percent": 10, "by": "tenant"}, 422, "user|session"),
            ({"to_version": 2, "percent": 10, "guards": ["speed"]}, 422, "unknown guard")):
        answer = call(api, "POST", "/refused/rollouts/production", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert text in str(answer.json()["detail"]), answer.text
    stop = call(api, "POST", "/refused/rollouts/production/stop")
    assert stop.status_code == 404 and "no rollout" in stop.json()["detail"]
    missing = call(api, "GET", "/nothing-here/delivery")
    assert missing.status_code == 404 and "vigil prompts push" in missing.json()["detail"]


def test_scopes_and_projects(api: ApiServer) -> None:
    versions(api, "scoped-rollout", 2)
    for path, body in (("/scoped-rollout/rollouts/production",
                        {"to_version": 2, "percent": 10}),
                       ("/scoped-rollout/rollouts/production/stop", None)):
        refused = call(api, "POST", path, READ, json=body)
        assert refused.status_code == 403 and "--scope write" in refused.json()["detail"]
    ok(call(api, "POST", "/scoped-rollout/rollouts/production",
            json={"to_version": 2, "percent": 10}))
    assert call(api, "GET", "/scoped-rollout/delivery", OTHER).status_code == 404
    assert call(api, "GET", "/scoped-rollout/rollouts/production", OTHER).status_code == 404


def test_concurrent_starts_make_one_rollout(api: ApiServer) -> None:
    versions(api, "raced-rollout", 3)
    bodies = [{"to_version": 2 + n % 2, "percent": 10 + n} for n in range(8)]
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda b: call(api, "POST", "/raced-rollout/rollouts/production",
                                               json=b), bodies))
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    history = ok(call(api, "GET", "/raced-rollout/rollouts/production"))["history"]
    assert [h["seq"] for h in reversed(history)] == list(range(1, len(history) + 1))
    assert len(history) == sum(a.status_code == 200 for a in answers)
    assert [h["action"] for h in reversed(history)] == ["start"] + ["change"] * (
        len(history) - 1)
    assert len({h["candidate_version"] for h in history}) == 1  # one candidate won


def test_delivery_answers_are_kept_a_second_and_dropped_by_a_local_write(
        served: tuple[ApiServer, Store]) -> None:
    """Two registries on one store stand for two `vigil api` replicas: a write through
    this one is seen by the next read, one through the other within max_age_s (driven)."""
    _, store = served
    here = PromptRegistry(store, LocalStoreWriter(store))
    there = PromptRegistry(store, LocalStoreWriter(store))
    now = [0.0]
    delivery = PromptDelivery(store, here, max_age_s=1.0, clock=lambda: now[0])
    for text in ("one", "two", "three"):
        here.push("alpha", "kept", parse_content({"template": text}), "", "t")
    here.move_label("alpha", "kept", "production", 1, "t")
    assert delivery.serve("alpha", "kept", "production")[0].version == 1
    here.move_label("alpha", "kept", "production", 2, "t")  # this process: seen at once
    assert delivery.serve("alpha", "kept", "production")[0].version == 2
    there.move_label("alpha", "kept", "production", 3, "t")  # another replica
    now[0] += 0.5
    assert delivery.serve("alpha", "kept", "production")[0].version == 2
    now[0] += 0.6
    assert delivery.serve("alpha", "kept", "production")[0].version == 3
    here.start_rollout("alpha", "kept", "production", RolloutPlan(1, 10), "t")
    version, rollout, candidate = delivery.serve("alpha", "kept", "production")
    assert (version.version, rollout is not None and rollout.percent,
            candidate is not None and candidate.version) == (3, 10, 1)
