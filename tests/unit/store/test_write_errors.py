"""What kind of failure a store write is, for the one error policy: rows the store refuses
(bad data) are permanent, a store or owner that is away or says no for now is transient."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from fastapi.testclient import TestClient

from tests.support.http_thread import ThreadedServer
from vigil.access.keyring import KeyRing
from vigil.api.app import create_app
from vigil.core.errors import PermanentError, StoreUnavailable
from vigil.kafka.policy import DeadLetter, ErrorPolicy, Retry
from vigil.store.remote_writer import RemoteStoreWriter, StoreWriteRefused
from vigil.store.tables import FEEDBACK, Line
from vigil.store.writer import RowsRefused, WriteResult, store_error

LINES = [Line(b'{"feedback_id": "f"}', "p", "f", "2026-01-01T00:00:00")]


@pytest.mark.parametrize(("exc", "kind"), [
    (DatabaseError("Code: 27. Cannot parse input", code=27), RowsRefused),
    (DatabaseError("Code: 53. Type mismatch", code=53), RowsRefused),
    (DatabaseError("Code: 243. Not enough space", code=243), StoreUnavailable),
    (DatabaseError("Code: 1001. std::exception: Permission denied", code=1001),
     StoreUnavailable),
    (OperationalError("connection refused"), StoreUnavailable),
])
def test_a_store_error_is_bad_rows_or_an_outage(exc: Exception, kind: type) -> None:
    kinded = store_error(exc)  # type: ignore[arg-type]
    assert type(kinded) is kind
    decision = ErrorPolicy().decide(kinded, 1)
    assert isinstance(decision, DeadLetter if issubclass(kind, PermanentError) else Retry)


class Owner(ThreadedServer):
    """A store owner that answers every write with one status."""

    status = 503

    @property
    def base_url(self) -> str:
        return self.origin

    def routes(self, app: web.Application) -> None:
        async def answer(request: web.Request) -> web.Response:
            return web.Response(status=self.status, text="no")

        app.router.add_post("/internal/store/{table}", answer)


@pytest.fixture
def owner() -> Iterator[Owner]:
    server = Owner()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(("status", "kind"), [
    (400, RowsRefused), (413, RowsRefused), (422, RowsRefused),
    (503, StoreWriteRefused), (500, StoreWriteRefused), (401, StoreWriteRefused),
])
def test_the_owners_answer_says_which(owner: Owner, status: int, kind: type) -> None:
    owner.status = status
    writer = RemoteStoreWriter(owner.origin, "tok", 1000)
    try:
        with pytest.raises(kind, match=str(status)):
            writer.write(FEEDBACK, LINES, "batch")
    finally:
        writer.close()


def test_an_unreachable_owner_is_an_outage() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    writer = RemoteStoreWriter(f"http://127.0.0.1:{port}", "tok", 1000, timeout_s=5)
    try:
        with pytest.raises(StoreWriteRefused, match="unreachable"):
            writer.write(FEEDBACK, LINES, "batch")
    finally:
        writer.close()


class RefusingWriter:
    """A store owner's writer whose store answers every write with one failure."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def write(self, spec: object, lines: list[Line], token: str) -> WriteResult:
        raise self.failure

    def close(self) -> None: ...


@pytest.mark.parametrize(("failure", "status", "kind"), [
    (RowsRefused("the store refused the rows: Code: 27. Cannot parse input"), 422,
     RowsRefused),
    (StoreUnavailable("the store did not take the rows: Code: 243. Not enough space"), 503,
     StoreWriteRefused),
])
def test_the_owner_says_which_and_the_sender_hears_it(failure: Exception, status: int,
                                                     kind: type) -> None:
    """The owner's route answers refused rows 422 (permanent: the sending sink
    dead-letters them) and any other store failure 503 (the sender retries)."""
    app = create_app(None, KeyRing.parse("k=p"), "tok",  # type: ignore[arg-type]
                     store_writer=RefusingWriter(failure),  # type: ignore[arg-type]
                     store_write_max_bytes=10_000)
    line = (b'{"project_id": "p", "time": "2026-01-01T00:00:00", "feedback_id": "f", '
            b'"trace_id": "t", "kind": "thumbs", "value": 1.0, "comment": "", '
            b'"user_id": "", "received_at": "2026-01-01T00:00:00", "source_partition": 0, '
            b'"source_offset": 0}')
    with TestClient(app) as client:
        r = client.post("/internal/store/feedback", content=line,
                        headers={"authorization": "Bearer tok", "x-vigil-insert-token": "b"})
    assert r.status_code == status, r.text
    if status == 422:
        assert "Cannot parse input" in r.json()["detail"]
    writer = RemoteStoreWriter("http://owner", "tok", 10_000)
    writer._client = TestClient(app, base_url="http://owner",  # type: ignore[assignment]
                                headers={"authorization": "Bearer tok"})
    with pytest.raises(kind, match=str(status)):
        writer.write(FEEDBACK, [Line(line, "p", "f", "2026-01-01T00:00:00")], "batch")
