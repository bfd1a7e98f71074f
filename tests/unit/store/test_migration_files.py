"""The migration files parse, are numbered without gaps, and each has a down step."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.store.migrate import load_migrations, parse_migration, schemas_dir


def test_shipped_migrations_are_ordered_with_up_and_down() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.up and m.down for m in migrations)
    assert schemas_dir().is_dir()


def test_a_file_without_down_step_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "0001_x.sql"
    bad.write_text("-- migrate:up\nSELECT 1;\n")
    with pytest.raises(ValueError, match="migrate:down"):
        parse_migration(bad)


def test_statements_split_on_line_ending_semicolons(tmp_path: Path) -> None:
    f = tmp_path / "0001_two.sql"
    f.write_text("-- migrate:up\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Memory;\n"
                 "CREATE TABLE b (x Int8) ENGINE = Memory;\n-- migrate:down\nDROP TABLE a;\n")
    m = parse_migration(f)
    assert len(m.up) == 2 and m.down == ["DROP TABLE a"]
