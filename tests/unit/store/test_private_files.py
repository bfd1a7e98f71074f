"""The embedded store's files are readable by their user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vigil.store.client import make_private


def test_the_store_folder_and_older_files_in_it_are_made_private(tmp_path: Path) -> None:
    store = tmp_path / "data" / "clickhouse"
    (store / "part").mkdir(parents=True)
    old = store / "part" / "data.bin"
    old.write_bytes(b"x")
    os.chmod(old, 0o644)
    os.chmod(store / "part", 0o755)
    os.chmod(store, 0o755)  # as an older run left it, whatever this process's umask is
    outside = tmp_path / "data" / "notes.txt"  # not the store's: left alone
    outside.write_text("x")
    os.chmod(outside, 0o644)
    umask = os.umask(0o022)
    try:
        make_private(store)
        new = store / "new.bin"
        new.write_bytes(b"y")
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (store, store / "part", old, new)}
    finally:
        os.umask(umask)
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


def test_a_store_folder_already_private_is_not_walked_again(tmp_path: Path) -> None:
    store = tmp_path / "clickhouse"
    (store / "part").mkdir(parents=True)
    os.chmod(store, 0o700)
    inner = store / "part" / "data.bin"
    inner.write_bytes(b"x")
    os.chmod(inner, 0o644)  # a start cut short fixes the folder last, so this cannot happen
    umask = os.umask(0o022)
    try:
        make_private(store)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(inner.stat().st_mode) == 0o644
