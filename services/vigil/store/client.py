"""Open the store: a ClickHouse server over HTTP, or embedded chdb in a data directory.

The embedded store admits one process per directory. That process (the sink)
serves every read through the read API; nothing else opens the directory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

from vigil.settings import Settings


class StoreLockedError(RuntimeError):
    pass


class Store:
    """A thin, thread-safe wrapper over a clickhouse-connect client."""

    def __init__(self, client: Client, database: str, embedded: bool) -> None:
        self.client = client
        self.database = database
        self.embedded = embedded
        self._lock = threading.RLock()

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        with self._lock:
            return self.client.query(sql, parameters=parameters)

    def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self.query(sql, parameters)
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def command(self, sql: str, settings: dict[str, Any] | None = None) -> Any:
        with self._lock:
            return self.client.command(sql, settings=settings)

    def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self.client.insert(table, rows, column_names=list(column_names), settings=settings)

    def insert_json_lines(self, table: str, column_names: Sequence[str], data: bytes,
                          settings: dict[str, Any] | None = None) -> None:
        """Insert JSONEachRow bytes: ClickHouse parses them, no per-row Python work."""
        with self._lock:
            self.client.raw_insert(
                table, column_names=list(column_names), insert_block=data, fmt="JSONEachRow",
                settings={"date_time_input_format": "best_effort", **(settings or {})})

    def close(self) -> None:
        with self._lock:
            self.client.close()


def make_private(path: Path) -> None:
    """The embedded store's folder and everything in it readable by this user only: this
    process creates its files with umask 077, and files of older runs are fixed once."""
    os.umask(0o077)
    if path.is_dir() and not path.stat().st_mode & 0o077:
        return  # made private by an earlier start: no walk over every part file
    path.mkdir(parents=True, exist_ok=True)
    # bottom-up, the store folder last: a fix cut short is redone at the next start
    for folder, _, files in os.walk(path, topdown=False):
        for name in (*(os.path.join(folder, n) for n in files), folder):
            mode = os.lstat(name).st_mode
            if mode & 0o077 and not os.path.islink(name):
                os.chmod(name, mode & ~0o077)


def open_store(settings: Settings) -> Store:
    db = settings.clickhouse_database
    if settings.clickhouse_url:
        bootstrap = clickhouse_connect.get_client(dsn=settings.clickhouse_url, database="default")
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        bootstrap.close()
        client = clickhouse_connect.get_client(dsn=settings.clickhouse_url, database=db)
        return Store(client, db, embedded=False)
    path = (settings.data_dir / "clickhouse").resolve()
    make_private(path)
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        client.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        client.close()
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}", database=db)
    except Exception as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"the embedded store {path} is open in another process (the running sink); "
                "read through the API (vigil stats) or stop that process first"
            ) from exc
        raise
    return Store(client, db, embedded=True)
