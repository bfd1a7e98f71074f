"""The key file: keys shown once and stored hashed, atomic 0600 writes, revocation, and
the KeyRing re-reading the file when it changes (on an injected clock)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.access import keyfile
from vigil.access.keyring import KeyRing
from vigil.launch.cli import app

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_created_key_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key, stored = keyfile.create(path, "shop", "checkout", NOW)
    assert key.startswith("vk_") and len(key) > 40
    assert stored.key_id == key[:11] and stored.project == "shop" and stored.active
    text = path.read_text()
    assert key not in text and key[11:] not in text
    assert json.loads(text)["keys"][0]["digest"] == keyfile.digest(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_keys_are_distinct_and_revoke_marks_one(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key_a, a = keyfile.create(path, "shop", "", NOW)
    key_b, b = keyfile.create(path, "shop", "", NOW)
    assert key_a != key_b and a.key_id != b.key_id
    revoked = keyfile.revoke(path, a.key_id, NOW)
    assert revoked.revoked_at == NOW.isoformat()
    assert [(k.key_id, k.active) for k in keyfile.load(path)] == [(a.key_id, False),
                                                                   (b.key_id, True)]
    with pytest.raises(KeyError):
        keyfile.revoke(path, "vk_nosuchid", NOW)


@pytest.mark.parametrize(("project", "name"), [("", ""), ("a,b", ""), ("a=b", ""),
                                               ("x" * 129, ""), ("ok", "bad\nname")])
def test_bad_projects_and_names_are_refused(tmp_path: Path, project: str, name: str) -> None:
    with pytest.raises(ValueError):
        keyfile.create(tmp_path / "keys.json", project, name, NOW)
    assert not (tmp_path / "keys.json").exists()


def test_the_keyring_merges_env_and_file_keys_and_follows_changes(tmp_path: Path) -> None:
    path, clock = tmp_path / "keys.json", Clock()
    ring = KeyRing.parse("env-key=project-env", path, poll_s=1.0, clock=clock)
    assert ring.project_for_key("env-key") == "project-env"  # no file yet: env keys only
    key, stored = keyfile.create(path, "shop", "", NOW)
    assert ring.project_for_key(key) is None  # within the poll interval: not re-read yet
    clock.now += 1.0
    caller = ring.caller_for_key(key)
    assert caller is not None and (caller.project, caller.key_id) == ("shop", stored.key_id)
    keyfile.revoke(path, stored.key_id, NOW)
    clock.now += 1.0
    assert ring.caller_for_key(key) is None
    assert ring.project_for_key("env-key") == "project-env"
    path.unlink()
    clock.now += 1.0
    assert ring.project_for_key("env-key") == "project-env"


def test_an_unreadable_key_file_keeps_the_keys_read_before(tmp_path: Path) -> None:
    path, clock = tmp_path / "keys.json", Clock()
    key, _ = keyfile.create(path, "shop", "", NOW)
    ring = KeyRing({}, path, clock=clock)
    assert ring.project_for_key(key) == "shop"
    path.write_text("{ half a docu")
    clock.now += 5
    assert ring.project_for_key(key) == "shop"


def test_the_cli_prints_a_key_once_lists_without_it_and_revokes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.json"
    monkeypatch.setenv("VIGIL_KEYS_FILE", str(path))
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--project", "shop", "--name", "ci"])
    assert created.exit_code == 0, created.output
    key = next(line.split()[-1] for line in created.stdout.splitlines()
               if line.startswith("api key:"))
    key_id = key[:11]
    assert keyfile.load(path)[0].digest == keyfile.digest(key)
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.stdout and "shop" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout and key[11:] not in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout
    assert runner.invoke(app, ["keys", "revoke", "vk_unknown0"]).exit_code == 1
    assert runner.invoke(app, ["keys", "create", "--project", "no,commas"]).exit_code == 2


def test_the_default_key_file_is_in_the_data_dir(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.settings import Settings

    monkeypatch.delenv("VIGIL_KEYS_FILE", raising=False)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    assert Settings().key_file_path == tmp_path / "keys.json"
    assert os.fspath(Settings(keys_file=tmp_path / "k.json").key_file_path).endswith("k.json")


def test_a_key_stored_before_scopes_keeps_doing_all_it_did(tmp_path: Path) -> None:
    """An entry without a scope (written by an older vigil) is admin: it may write."""
    path = tmp_path / "keys.json"
    key = "vk_" + "A" * 43
    path.write_text(json.dumps({"version": 1, "keys": [{
        "key_id": key[:11], "digest": keyfile.digest(key), "project": "shop",
        "name": "old", "created_at": NOW.isoformat(), "revoked_at": None}]}))
    caller = KeyRing({}, path).caller_for_key(key)
    assert caller is not None and caller.scope == "admin" and caller.may("write")
    assert caller.label == "old"


@pytest.mark.parametrize(("scope", "may_write"), [("read", False), ("write", True),
                                                  ("admin", True)])
def test_created_keys_carry_their_scope(tmp_path: Path, scope: str, may_write: bool) -> None:
    path = tmp_path / "keys.json"
    key, stored = keyfile.create(path, "shop", "bot", NOW, scope)
    assert stored.scope == scope and keyfile.load(path)[0].scope == scope
    caller = KeyRing({}, path).caller_for_key(key)
    assert caller is not None and caller.may("read") and caller.may("write") is may_write
    assert caller.may("admin") is (scope == "admin")


def test_a_new_key_reads_unless_told_otherwise(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_KEYS_FILE", str(tmp_path / "keys.json"))
    runner = CliRunner()
    plain = runner.invoke(app, ["keys", "create", "--project", "shop"])
    assert "scope:   read" in plain.stdout
    writer = runner.invoke(app, ["keys", "create", "--project", "shop", "--scope", "write"])
    assert "scope:   write" in writer.stdout
    assert [k.scope for k in keyfile.load(tmp_path / "keys.json")] == ["read", "write"]
    bad = runner.invoke(app, ["keys", "create", "--project", "shop", "--scope", "root"])
    assert bad.exit_code == 2 and "scope must be one of read, write, admin" in bad.stderr
    helped = " ".join(runner.invoke(app, ["keys", "create", "--help"]).stdout.split())
    assert "have scope admin: they keep doing all they did" in helped and "--scope" in helped
