"""The prompt registry through the read API over a real embedded store and real HTTP: push,
identical pushes, show by version and label, label moves and their history, rollback,
diff, concurrent pushes and moves of one name, key scopes and project isolation."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.support.api_seed import ApiServer
from vigil.access import keyfile
from vigil.access.keyring import KeyRing
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate

WRITE, READ, OTHER = "prompt-writer-key", "prompt-reader-key", "other-project-key"
DB = "prompts_api_tests"


@pytest.fixture(scope="module")
def served(store_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[ApiServer, Store, str]]:
    """The API over a fresh database; besides the env keys, a key-file key named ci-bot."""
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    store.command(f"DROP DATABASE IF EXISTS `{DB}`")
    store.close()
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=DB))
    migrate(store, 90)
    key_file = tmp_path_factory.mktemp("keys") / "keys.json"
    named, _ = keyfile.create(key_file, "alpha", "ci-bot", datetime.now(UTC), scope="write")
    keys = KeyRing.parse(f"{WRITE}=alpha,{READ}=alpha:read,{OTHER}=beta", key_file)
    server = ApiServer(store, free_port(), [], keys)
    server.start()
    try:
        yield server, store, named
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(served: tuple[ApiServer, Store, str]) -> ApiServer:
    return served[0]


def call(api: ApiServer, method: str, path: str, key: str = WRITE, **kwargs: Any
         ) -> httpx.Response:
    return httpx.request(method, f"{api.url}/v1/prompts{path}", timeout=60,
                         headers={"Authorization": f"Bearer {key}"}, **kwargs)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def chat(text: str, **params: Any) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": "You are a support agent."},
                         {"role": "user", "content": text}],
            "model": "gpt-4o-mini", "params": params}


def test_push_identical_push_and_show(api: ApiServer, served: tuple[ApiServer, Store, str]
                                      ) -> None:
    first = ok(call(api, "POST", "/greet/versions",
                    json={**chat("Hello {{name}}", temperature=0.2), "message": "first"}), 201)
    assert (first["version"], first["created"], first["pushed_by"]) == (1, True, "env-1")
    assert first["variables"] == ["name"]
    again = ok(call(api, "POST", "/greet/versions",
                    json={**chat("Hello {{name}}", temperature=0.2), "message": "same"}))
    assert (again["version"], again["created"], again["commit_message"]) == (1, False, "first")
    second = ok(call(api, "POST", "/greet/versions", served[2],
                     json={**chat("Hi {{name}}!", temperature=0.5), "message": "friendlier"}),
                201)
    assert (second["version"], second["pushed_by"]) == (2, "ci-bot")

    shown = ok(call(api, "GET", "/greet"))
    assert (shown["version"], shown["latest_version"]) == (2, 2)
    assert shown["messages"][1] == {"role": "user", "content": "Hi {{name}}!"}
    assert shown["params"] == {"temperature": 0.5} and shown["model"] == "gpt-4o-mini"
    assert ok(call(api, "GET", "/greet", params={"version": 1}))["commit_message"] == "first"
    assert ok(call(api, "GET", "/greet", params={"label": "latest"}))["version"] == 2
    listed = ok(call(api, "GET", ""))["prompts"]
    assert [(p["name"], p["latest_version"], p["versions"]) for p in listed
            if p["name"] == "greet"] == [("greet", 2, 2)]


def test_labels_move_are_recorded_and_roll_back(api: ApiServer) -> None:
    for n in (1, 2, 3):
        ok(call(api, "POST", "/labels-demo/versions", json=chat(f"text {n}")), 201)
    moved = ok(call(api, "POST", "/labels-demo/labels/production", json={"version": 1}))
    assert (moved["from_version"], moved["to_version"], moved["by"]) == (None, 1, "env-1")
    ok(call(api, "POST", "/labels-demo/labels/production", json={"version": 3}))
    ok(call(api, "POST", "/labels-demo/labels/staging", json={"version": 2}))
    assert ok(call(api, "GET", "/labels-demo", params={"label": "production"}))["version"] == 3
    shown = ok(call(api, "GET", "/labels-demo", params={"version": 2}))
    assert shown["labels"] == ["staging"]

    back = ok(call(api, "POST", "/labels-demo/labels/production/rollback"))
    assert (back["from_version"], back["to_version"], back["reason"]) == (3, 1, "rollback")
    assert ok(call(api, "GET", "/labels-demo", params={"label": "production"}))["version"] == 1
    history = ok(call(api, "GET", "/labels-demo/history"))
    assert history["labels"] == {"production": 1, "staging": 2}
    assert [(m["label"], m["from_version"], m["to_version"], m["reason"])
            for m in history["moves"]] == [("production", 3, 1, "rollback"),
                                           ("staging", None, 2, "label"),
                                           ("production", 1, 3, "label"),
                                           ("production", None, 1, "label")]
    assert [v["version"] for v in history["versions"]] == [3, 2, 1]

    refused = call(api, "POST", "/labels-demo/labels/staging/rollback")
    assert refused.status_code == 409 and "nothing to roll back to" in refused.json()["detail"]
    same = call(api, "POST", "/labels-demo/labels/staging", json={"version": 2})
    assert same.status_code == 409 and "already points at version 2" in same.json()["detail"]
    unknown = call(api, "POST", "/labels-demo/labels/staging", json={"version": 9})
    assert unknown.status_code == 404 and "no version 9" in unknown.json()["detail"]
    latest = call(api, "POST", "/labels-demo/labels/latest", json={"version": 1})
    assert latest.status_code == 422 and "newest version" in latest.json()["detail"]


def test_diff_of_two_versions(api: ApiServer) -> None:
    ok(call(api, "POST", "/diffed/versions", json=chat("Answer {{q}}", temperature=0.1)), 201)
    ok(call(api, "POST", "/diffed/versions",
            json={**chat("Answer {{q}} briefly", temperature=0.7), "model": "gpt-4o"}), 201)
    result = ok(call(api, "GET", "/diffed/diff", params={"from_version": 1, "to_version": 2}))
    assert result["changes"] == [{"field": "model", "from": "gpt-4o-mini", "to": "gpt-4o"},
                                 {"field": "params.temperature", "from": 0.1, "to": 0.7}]
    assert "-    Answer {{q}}" in result["unified"]
    assert "+    Answer {{q}} briefly" in result["unified"]
    assert ok(call(api, "GET", "/diffed/diff")) == result  # default: newest against previous


def test_concurrent_pushes_of_one_name_get_distinct_consecutive_versions(api: ApiServer
                                                                         ) -> None:
    pushes = 16
    with ThreadPoolExecutor(pushes) as pool:
        answers = list(pool.map(lambda n: call(api, "POST", "/raced/versions",
                                               json=chat(f"variant {n}")), range(pushes)))
    versions = sorted(ok(a, 201)["version"] for a in answers)
    assert versions == list(range(1, pushes + 1))
    stored = ok(call(api, "GET", "/raced/history"))["versions"]
    assert sorted(v["version"] for v in stored) == versions  # none lost, none twice
    texts = {ok(call(api, "GET", "/raced", params={"version": v}))["messages"][1]["content"]
             for v in versions}
    assert texts == {f"variant {n}" for n in range(pushes)}


def test_concurrent_identical_pushes_create_one_version(api: ApiServer) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(api, "POST", "/same/versions",
                                               json=chat("one text")), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert {a.json()["version"] for a in answers} == {1}


def test_concurrent_label_moves_each_record_where_the_label_was(api: ApiServer) -> None:
    for n in range(1, 5):
        ok(call(api, "POST", "/moved/versions", json=chat(f"text {n}")), 201)
    targets = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]
    with ThreadPoolExecutor(len(targets)) as pool:
        answers = list(pool.map(lambda v: call(api, "POST", "/moved/labels/production",
                                               json={"version": v}), targets))
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    moves = sorted(ok(call(api, "GET", "/moved/history"))["moves"], key=lambda m: m["seq"])
    assert [m["seq"] for m in moves] == list(range(1, len(moves) + 1))
    assert len(moves) == sum(a.status_code == 200 for a in answers)
    for before, after in pairwise(moves):
        assert after["from_version"] == before["to_version"]  # a chain: no move lost
    current = ok(call(api, "GET", "/moved", params={"label": "production"}))["version"]
    assert current == moves[-1]["to_version"]


def test_a_read_key_reads_but_is_refused_every_write_with_a_reason(api: ApiServer) -> None:
    ok(call(api, "POST", "/scoped/versions", json=chat("v1")), 201)
    assert ok(call(api, "GET", "/scoped", READ))["version"] == 1
    for path, body in (("/scoped/versions", chat("v2")),
                       ("/scoped/labels/production", {"version": 1}),
                       ("/scoped/labels/production/rollback", None)):
        refused = call(api, "POST", path, READ, json=body)
        assert refused.status_code == 403, path
        detail = refused.json()["detail"]
        assert "scope 'read'" in detail and "--scope write" in detail
    history = ok(call(api, "GET", "/scoped/history", READ))
    assert [v["version"] for v in history["versions"]] == [1] and history["moves"] == []


def test_a_read_key_cannot_acknowledge_a_ticket(api: ApiServer) -> None:
    refused = httpx.post(f"{api.url}/v1/tickets/any-ticket/acknowledge", timeout=30,
                         headers={"Authorization": f"Bearer {READ}"})
    assert refused.status_code == 403 and "scope 'read'" in refused.json()["detail"]
    allowed = httpx.post(f"{api.url}/v1/tickets/any-ticket/acknowledge", timeout=30,
                         headers={"Authorization": f"Bearer {WRITE}"})
    assert allowed.status_code == 404  # past the scope check: there is no such ticket


def test_another_project_sees_none_of_it(api: ApiServer) -> None:
    ok(call(api, "POST", "/private/versions", json=chat("alpha only")), 201)
    assert "private" not in [p["name"] for p in ok(call(api, "GET", "", OTHER))["prompts"]]
    missing = call(api, "GET", "/private", OTHER)
    assert missing.status_code == 404 and "no prompt 'private'" in missing.json()["detail"]
    mine = ok(call(api, "POST", "/private/versions", OTHER, json=chat("beta's own")), 201)
    assert mine["version"] == 1  # numbered per project
    assert ok(call(api, "GET", "/private"))["messages"][1]["content"] == "alpha only"


@pytest.mark.parametrize(("body", "reason"), [
    ({}, "either 'messages'"),
    ({"template": "x", "params": {"temperature": "hot"}}, "params.temperature"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "role 'robot'"),
])
def test_a_bad_prompt_is_refused_with_the_reason_and_nothing_stored(
        api: ApiServer, body: dict[str, Any], reason: str) -> None:
    refused = call(api, "POST", "/badly/versions", json=body)
    assert refused.status_code == 422 and reason in refused.json()["detail"]
    assert call(api, "GET", "/badly").status_code == 404


def test_bad_names_and_unknown_prompts_get_a_4xx_with_a_reason(api: ApiServer) -> None:
    for path in ("/a@1", "/-x/history", "/nope", "/nope/diff", "/nope/history"):
        answer = call(api, "GET", path)
        assert answer.status_code in (404, 422), (path, answer.text)
        assert answer.json()["detail"]
    assert "vigil prompts push nope" in call(api, "GET", "/nope").json()["detail"]
