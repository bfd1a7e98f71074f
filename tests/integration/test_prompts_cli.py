"""`vigil prompts` against a running read API (real HTTP, real store), as a user runs it:
push from YAML and JSON files, identical push, show by version and label, diff, label,
rollback, history; and the errors say what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import Service, free_port, wait_until
from vigil.launch.cli import app

WRITE, READ = "cli-writer-key", "cli-reader-key"
V1 = """\
messages:
  - role: system
    content: You answer questions about orders.
  - role: user
    content: "Where is order {{order_id}}?"
model: gpt-4o-mini
params:
  temperature: 0.2
  max_tokens: 200
"""
V2 = {"messages": [{"role": "system", "content": "You answer questions about orders, briefly."},
                   {"role": "user", "content": "Where is order {{order_id}}?"}],
      "model": "gpt-4o-mini", "params": {"temperature": 0.5, "max_tokens": 200}}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vigil api` in its own process over its own embedded store; its URL."""
    root = tmp_path_factory.mktemp("prompts-cli")
    port = free_port()
    service = Service("api", ["api"], {
        **os.environ, "VIGIL_DATA_DIR": str(root / "data"),
        "VIGIL_API_LISTEN": f"127.0.0.1:{port}",
        "VIGIL_API_KEYS": f"{WRITE}=shop,{READ}=shop:read"}, root / "api.log").start()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if service.proc is not None and service.proc.poll() is not None:
            raise RuntimeError(f"vigil api exited:\n{service.tail()}")
        return httpx.get(f"{url}/health", timeout=2).status_code == 200

    try:
        wait_until(healthy, 120, "vigil api")
        yield url
    finally:
        service.stop()


def vigil(url: str, *args: str, key: str = WRITE) -> Result:
    """`vigil prompts ARGS` as a user runs it, against the running API."""
    return CliRunner().invoke(app, ["prompts", *args],
                              env={"VIGIL_API_URL": url, "VIGIL_API_KEY": key})


def test_push_label_show_diff_rollback_history(api: str, tmp_path: Path) -> None:
    first, second = tmp_path / "v1.yaml", tmp_path / "v2.json"
    first.write_text(V1)
    second.write_text(json.dumps(V2))

    pushed = vigil(api, "push", "orders", "--file", str(first), "--message", "first cut")
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.stdout.strip() == "orders: pushed version 1"
    same = vigil(api, "push", "orders", "--file", str(first))
    assert same.stdout.strip() == "orders: identical to version 1, the newest: no new version"
    assert vigil(api, "push", "orders", "-f", str(second), "-m", "briefer").stdout.strip() \
        == "orders: pushed version 2"

    assert vigil(api, "label", "orders", "1", "production").stdout.strip() == \
        "orders: production (new) -> 1"
    assert vigil(api, "label", "orders", "2", "production").stdout.strip() == \
        "orders: production 1 -> 2"

    shown = vigil(api, "show", "orders:production").stdout
    assert shown.startswith("orders@2 (of 2)  labels: production\n")
    assert "pushed " in shown and "by env-1: briefer" in shown
    assert 'params: {"temperature": 0.5, "max_tokens": 200}' in shown
    assert "variables: order_id" in shown
    assert "[system]\nYou answer questions about orders, briefly.\n" in shown
    old = vigil(api, "show", "orders@1").stdout
    assert old.startswith("orders@1 (of 2)\n") and "first cut" in old
    assert vigil(api, "show", "orders").stdout.startswith("orders@2")

    diffed = vigil(api, "diff", "orders", "1", "2").stdout
    assert "params.temperature: 0.2 -> 0.5" in diffed
    assert "-    You answer questions about orders." in diffed
    assert "+    You answer questions about orders, briefly." in diffed

    assert vigil(api, "rollback", "orders", "production").stdout.strip() == \
        "orders: production rolled back 2 -> 1"
    assert vigil(api, "show", "orders:production").stdout.startswith("orders@1")

    history = vigil(api, "history", "orders").stdout
    assert "labels production=1" in history
    assert history.index("v2 ") < history.index("v1 ")
    moves = [line for line in history.splitlines() if "production" in line and "->" in line]
    assert [line.split("production")[1].split("by")[0].split() for line in moves] == [
        ["2", "->", "1"], ["1", "->", "2"], ["(new)", "->", "1"]]
    assert moves[0].endswith("by env-1 (rollback)")

    listed = vigil(api, "list", key=READ).stdout
    assert listed.startswith("orders") and "v2" in listed and "production=1" in listed


def test_a_read_key_is_told_it_needs_scope_write(api: str, tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(V1)
    refused = vigil(api, "push", "readonly", "--file", str(f), key=READ)
    assert refused.exit_code == 1
    assert "refused (403)" in refused.stderr and "--scope write" in refused.stderr
    listed = vigil(api, "list")
    assert listed.exit_code == 0 and "readonly" not in listed.stdout, listed.stderr
    shown = vigil(api, "show", "readonly")  # nothing was stored under the name
    assert shown.exit_code == 1 and "refused (404)" in shown.stderr, shown.stderr


@pytest.mark.parametrize(("content", "error"), [
    ("messages: [{role: user}]", "exactly 'role' and 'content'"),
    ("template: [unclosed", "is not YAML or JSON"),
    ("model: gpt-4o", "give either 'messages'"),
])
def test_a_bad_file_is_named_before_any_request(api: str, tmp_path: Path,
                                                content: str, error: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(content)
    result = vigil(api, "push", "bad", "--file", str(f))
    assert result.exit_code == 2 and error in result.stderr and str(f) in result.stderr


def test_errors_say_what_to_do(api: str, tmp_path: Path) -> None:
    missing = vigil(api, "push", "x", "--file", str(tmp_path / "absent.yaml"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    unknown = vigil(api, "show", "nothing-here")
    assert unknown.exit_code == 1
    assert "vigil prompts push nothing-here --file FILE" in unknown.stderr
    assert vigil(api, "show", "a@b@c").exit_code == 2
    wrong_key = vigil(api, "list", key="not-a-key")
    assert wrong_key.exit_code == 1 and "VIGIL_API_KEY" in wrong_key.stderr
    down = vigil(f"http://127.0.0.1:{free_port()}", "list")
    assert down.exit_code == 1 and "cannot reach the read API" in down.stderr
