"""Numbered SQL migrations applied in order, once each, recorded in `vigil_migrations`.

A file `NNNN_name.sql` holds a `-- migrate:up` section and a `-- migrate:down`
section; statements are separated by `;` at the end of a line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vigil.runtime.logs import get_logger
from vigil.store.client import Store

log = get_logger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
RETENTION_TABLES = ("traces", "feedback", "scores", "judge_sampling", "spans", "call_logs",
                    "alerts", "drift_reports", "drift_report_html")
"""Tables whose rows expire VIGIL_RETENTION_DAYS after they were stored (`stored_at`,
migration 0012): imported history older than the retention lives that long too."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    up: list[str]
    down: list[str]
    checksum: str


def schemas_dir() -> Path:
    """schemas/clickhouse from the wheel, or from the source tree in an editable install."""
    packaged = resources.files("vigil").joinpath("schemas", "clickhouse")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "schemas" / "clickhouse"


def parse_migration(path: Path) -> Migration:
    match = _FILE.match(path.name)
    if not match:
        raise ValueError(f"{path.name}: migration files are named NNNN_name.sql")
    text = path.read_text()
    if "-- migrate:up" not in text or "-- migrate:down" not in text:
        raise ValueError(f"{path.name}: needs a '-- migrate:up' and a '-- migrate:down' section")
    up_text = text.split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]
    down_text = text.split("-- migrate:down", 1)[1]
    return Migration(
        version=int(match.group(1)),
        name=match.group(2),
        up=_statements(up_text),
        down=_statements(down_text),
        checksum=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.MULTILINE) if s.strip()]


def load_migrations(directory: Path | None = None) -> list[Migration]:
    folder = directory or schemas_dir()
    migrations = sorted(
        (parse_migration(p) for p in folder.glob("*.sql")), key=lambda m: m.version
    )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {folder}")
    return migrations


def applied_versions(store: Store) -> set[int]:
    store.command(
        "CREATE TABLE IF NOT EXISTS vigil_migrations (version UInt32, name String, "
        "checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY version"
    )
    return {row[0] for row in store.query("SELECT version FROM vigil_migrations").result_rows}


def migrate(store: Store, retention_days: int, directory: Path | None = None) -> list[int]:
    """Apply what is not applied yet; return the versions applied now."""
    done = applied_versions(store)
    applied = []
    for migration in load_migrations(directory):
        if migration.version in done:
            continue
        for statement in migration.up:
            store.command(statement)
        store.insert(
            "vigil_migrations",
            [[migration.version, migration.name, migration.checksum]],
            ["version", "name", "checksum"],
        )
        applied.append(migration.version)
        log.info("migration applied", version=migration.version, name=migration.name)
    apply_retention(store, retention_days)
    return applied


def rollback(store: Store, to_version: int, directory: Path | None = None) -> list[int]:
    """Run the down steps of every applied migration above `to_version`, newest first."""
    done = applied_versions(store)
    undone = []
    for migration in sorted(load_migrations(directory), key=lambda m: -m.version):
        if migration.version <= to_version or migration.version not in done:
            continue
        for statement in migration.down:
            store.command(statement)
        if migration.name != "migrations_log":
            store.command(f"DELETE FROM vigil_migrations WHERE version = {migration.version:d}")
        undone.append(migration.version)
    return undone


def apply_retention(store: Store, days: int) -> None:
    """Rewrite each table's TTL when VIGIL_RETENTION_DAYS changed (or still counts from
    the event time: a store from before migration 0012 being rolled forward)."""
    ttl = f"toDateTime(stored_at) + toIntervalDay({days:d})"
    for table in RETENTION_TABLES:
        rows = store.query(
            "SELECT create_table_query FROM system.tables WHERE database = {db:String} "
            "AND name = {t:String}",
            {"db": store.database, "t": table},
        ).result_rows
        if not rows or f"TTL {ttl}" in rows[0][0]:
            continue
        store.command(
            f"ALTER TABLE {table} MODIFY TTL {ttl}",
            settings={"materialize_ttl_after_modify": 0},
        )
        log.info("retention changed", table=table, days=days)
