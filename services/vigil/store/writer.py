"""The store's one write path: skip the rows a table already holds, insert the rest.

`StoreWriter` is what the sink hands a batch to, one table at a time (and what
the read API's internal write endpoint runs for sinks that do not own the
store). Two implementations:

- `LocalStoreWriter` runs on a `Store` this process opened. Looking up the
  stored ids and inserting the fresh rows happen under one lock, so within the
  process the pair is atomic: of two writers handed the same rows at the same
  time, the second looks up only after the first inserted, sees the rows and
  skips them.
- `RemoteStoreWriter` (vigil.store.remote_writer) POSTs the rows to the store
  owner's read API, whose internal endpoint runs the owner's
  `LocalStoreWriter`. That is how several sinks share the embedded store,
  which one process only may open: every write to it goes through the same
  lock, so two sinks replaying the same batch after a rebalance (one of them
  a zombie still finishing its last write) cannot both insert it.

With a ClickHouse server each sink writes directly with its own
`LocalStoreWriter`; the per-process lock then does not span sinks (see
README, "Scaling out").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from clickhouse_connect.driver.exceptions import ClickHouseError

from vigil.core.errors import PermanentError, StoreUnavailable
from vigil.store.client import Store
from vigil.store.tables import Line, TableSpec, first_occurrences

# ClickHouse error codes that say the rows themselves are wrong (parse errors, types,
# sizes): the same rows fail the same way again.
DATA_ERROR_CODES = frozenset({6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131})


class RowsRefused(PermanentError):
    """The store refused the rows themselves (they break the table's types)."""


def store_error(exc: ClickHouseError) -> Exception:
    """The kind of a store failure: RowsRefused for bad rows, else StoreUnavailable (the
    store is down, full, read-only, locked: it may take the same rows later)."""
    if getattr(exc, "code", None) in DATA_ERROR_CODES:
        return RowsRefused(f"the store refused the rows: {str(exc)[:500]}")
    return StoreUnavailable(f"the store did not take the rows: {str(exc)[:500]}")


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int
    skipped: int  # already stored, or repeated within the batch


class StoreWriter(Protocol):
    def write(self, spec: TableSpec, lines: list[Line], token: str) -> WriteResult:
        """Store the rows the table does not hold yet; raise if the store did not take them
        (StoreUnavailable when it may later, RowsRefused when the rows are wrong).

        `token` identifies the batch (its partition/offset ranges): an insert retried with
        the same token is applied once by ClickHouse itself."""
        ...

    def close(self) -> None: ...


class LocalStoreWriter:
    """Dedup by id, then insert, atomically per process (one lock around both)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()

    def write(self, spec: TableSpec, lines: list[Line], token: str) -> WriteResult:
        if not lines:
            return WriteResult(0, 0)
        unique = first_occurrences(lines, lambda x: x.id)
        try:
            fresh = self._insert(spec, unique, token)
        except ClickHouseError as exc:
            raise store_error(exc) from exc
        return WriteResult(len(fresh), len(lines) - len(fresh))

    def _insert(self, spec: TableSpec, unique: list[Line], token: str) -> list[Line]:
        with self._lock:
            stored = self._stored_ids(spec, unique)
            fresh = [x for x in unique if x.id not in stored]
            if fresh:
                self._store.insert_json_lines(
                    spec.name, spec.columns, b"\n".join(x.line for x in fresh),
                    settings={"insert_deduplication_token": f"{spec.name}:{token}"})
        return fresh

    def close(self) -> None:
        """The store belongs to whoever opened it."""

    def _stored_ids(self, spec: TableSpec, lines: list[Line]) -> set[str]:
        """The ids the table holds already, looked up by project and time range first."""
        times = [x.time for x in lines]
        result = self._store.query(
            f"SELECT {spec.id_column} FROM {spec.name} WHERE project_id IN {{p:Array(String)}} "
            f"AND {spec.time_column} BETWEEN parseDateTime64BestEffort({{lo:String}}, 3) "
            f"AND parseDateTime64BestEffort({{hi:String}}, 3) "
            f"AND {spec.id_column} IN {{ids:Array(String)}}",
            {"p": sorted({x.project_id for x in lines}), "lo": min(times), "hi": max(times),
             "ids": [x.id for x in lines]},
        )
        return {row[0] for row in result.result_rows}
