"""The store owner's write endpoint on the embedded store, over real HTTP: two sinks
replaying the same rows at once store them once; bad requests get a 4xx and a reason."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import INTERNAL_TOKEN, free_port, wait_until
from tests.support.factories import valid_event
from vigil.access.keyring import KeyRing
from vigil.api.app import create_app
from vigil.core.prices import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import decode_enriched_batch, encode_enriched_batch
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate
from vigil.store.remote_writer import INSERT_TOKEN_HEADER, RemoteStoreWriter
from vigil.store.tables import TRACES, Line, trace_line
from vigil.store.writer import LocalStoreWriter, WriteResult
from vigil_protos.v1 import events_pb2 as pb

pytestmark = pytest.mark.integration
MAX_BODY = 64 * 1024


@pytest.fixture
def store(store_dir: Path) -> Store:
    settings = Settings(data_dir=store_dir, clickhouse_database=f"w_{uuid.uuid4().hex[:8]}")
    s = open_store(settings)
    migrate(s, settings.retention_days)
    return s


@contextlib.contextmanager
def owner_api(store: Store, writer: LocalStoreWriter) -> Iterator[str]:
    """The owner's read API with its write endpoint, served on loopback in a thread."""
    app = create_app(store, KeyRing.parse("k=p"), INTERNAL_TOKEN, store_writer=writer,
                     store_write_max_bytes=MAX_BODY)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "the owner's API")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def trace_lines(n: int) -> list[Line]:
    raw = pb.TraceBatch(project_id="p", events=[valid_event(i) for i in range(n)])
    raw.received_at.GetCurrentTime()
    records = enrich_record(raw.SerializeToString(), 0, 0, EnrichConfig(PriceBook())).records
    return [trace_line(*x) for x in decode_enriched_batch(encode_enriched_batch(records))]


def stored(store: Store) -> tuple[int, int]:
    row = store.query("SELECT count(), uniqExact(event_id) FROM traces").result_rows[0]
    return int(row[0]), int(row[1])


def race(writers: list[RemoteStoreWriter], lines: list[Line]) -> list[WriteResult]:
    """Every writer sends the same rows at the same moment, each under its own insert
    token (as two sinks whose batches began at the same offset but ended apart)."""
    start = threading.Barrier(len(writers))
    results: list[WriteResult] = []

    def send(writer: RemoteStoreWriter, token: str) -> None:
        start.wait(10)
        results.append(writer.write(TRACES, lines, token))

    threads = [threading.Thread(target=send, args=(w, f"batch-{i}"))
               for i, w in enumerate(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return results


def test_two_sinks_replaying_the_same_batch_at_once_store_it_once(store: Store) -> None:
    lines = trace_lines(300)
    with owner_api(store, LocalStoreWriter(store)) as url:
        writers = [RemoteStoreWriter(url, INTERNAL_TOKEN, MAX_BODY) for _ in range(2)]
        results = race(writers, lines)
        again = writers[0].write(TRACES, lines[:50], "a-later-replay")
        for w in writers:
            w.close()
    assert sorted((r.written, r.skipped) for r in results) == [(0, 300), (300, 0)]
    assert (again.written, again.skipped) == (0, 50)
    assert stored(store) == (300, 300)


class _SlowUnlockedWriter(LocalStoreWriter):
    """The control: no lock, and both lookups done before either insert."""

    def __init__(self, store: Store, racers: int) -> None:
        super().__init__(store)
        self._lock = contextlib.nullcontext()  # type: ignore[assignment]
        self._looked_up = threading.Barrier(racers)

    def _stored_ids(self, spec, lines):  # type: ignore[no-untyped-def]
        ids = super()._stored_ids(spec, lines)
        self._looked_up.wait(10)
        return ids


def test_without_the_owners_lock_the_same_race_writes_twice(store: Store) -> None:
    """Shows the race the lock closes is real (chunks small enough to be single bodies)."""
    lines = trace_lines(40)
    with owner_api(store, _SlowUnlockedWriter(store, 2)) as url:
        writers = [RemoteStoreWriter(url, INTERNAL_TOKEN, MAX_BODY) for _ in range(2)]
        race(writers, lines)
        for w in writers:
            w.close()
    assert stored(store) == (80, 40)


def test_a_batch_over_the_body_limit_is_split_and_stored_once(store: Store) -> None:
    lines = trace_lines(200)
    assert sum(len(x.line) for x in lines) > 2 * MAX_BODY
    with owner_api(store, LocalStoreWriter(store)) as url:
        writer = RemoteStoreWriter(url, INTERNAL_TOKEN, MAX_BODY)
        first = writer.write(TRACES, lines, "t")
        retried = writer.write(TRACES, lines, "t")
        writer.close()
    assert (first.written, retried.skipped) == (200, 200)
    assert stored(store) == (200, 200)


def test_bad_writes_are_refused_with_a_reason(store: Store) -> None:
    good = trace_lines(1)[0].line
    auth = {"authorization": f"Bearer {INTERNAL_TOKEN}", INSERT_TOKEN_HEADER: "t"}
    cases = [
        ("traces", good, {INSERT_TOKEN_HEADER: "t"}, 401, "service token"),
        ("traces", good, {**auth, "authorization": "Bearer wrong"}, 401, "service token"),
        ("vigil_migrations", good, auth, 404, "no table"),
        ("traces", good, {"authorization": auth["authorization"]}, 400, INSERT_TOKEN_HEADER),
        ("traces", b"", auth, 400, "empty body"),
        ("traces", b"{not json", auth, 400, "line 1"),
        ("traces", good + b'\n{"event_id": "x"}', auth, 400, "line 2"),
        ("traces", b"[1, 2]", auth, 400, "not a JSON object"),
        ("traces", b"x" * (MAX_BODY + 1), auth, 413, "limit"),
    ]
    with owner_api(store, LocalStoreWriter(store)) as url:
        for table, body, headers, status, reason in cases:
            r = httpx.post(f"{url}/internal/store/{table}", content=body, headers=headers,
                           timeout=30)
            assert (r.status_code, reason in r.text) == (status, True), (table, r.text)
    assert stored(store) == (0, 0)
