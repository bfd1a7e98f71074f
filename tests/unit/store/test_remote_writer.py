from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest

from vigil.events import FeedbackEvent
from vigil.store.remote_writer import (
    INSERT_TOKEN_HEADER,
    RemoteStoreWriter,
    StoreWriteRefused,
    bodies,
)
from vigil.store.tables import FEEDBACK, FEEDBACK_COLUMNS, Line, feedback_line


def _lines(*sizes: int) -> list[Line]:
    return [Line(b"x" * size, "p", str(n), "2026-01-01T00:00:00") for n, size in
            enumerate(sizes)]


def test_feedback_becomes_a_json_line_of_the_feedback_table() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    line = feedback_line(FeedbackEvent("f1", "t1", "p", "thumbs", 1, at), 3, 17)
    record = orjson.loads(line.line)
    assert tuple(record) == FEEDBACK_COLUMNS == FEEDBACK.columns
    assert (line.project_id, line.id, line.time) == ("p", "f1", at.isoformat())
    assert record["received_at"] == record["time"]  # no receive time: the event's own
    assert (record["value"], record["source_partition"], record["source_offset"]) == (1.0, 3, 17)


def test_bodies_stay_under_the_limit_in_order_and_a_long_line_goes_alone() -> None:
    lines = _lines(40, 40, 40, 200, 10)
    parts = list(bodies(lines, 100))
    assert [len(p) for p in parts] == [81, 40, 200, 10]
    assert b"\n".join(parts) == b"\n".join(x.line for x in lines)


def _writer(answer: httpx.Response, seen: list[httpx.Request]) -> RemoteStoreWriter:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return RemoteStoreWriter("http://owner:8700/", "tok", 100,
                             transport=httpx.MockTransport(handle))


def test_each_body_is_posted_with_the_service_token_and_its_own_insert_token() -> None:
    seen: list[httpx.Request] = []
    writer = _writer(httpx.Response(200, json={"written": 2, "skipped": 1}), seen)
    result = writer.write(FEEDBACK, _lines(60, 60), "batch")
    assert (result.written, result.skipped) == (4, 2)
    assert [str(r.url) for r in seen] == ["http://owner:8700/internal/store/feedback"] * 2
    assert [r.headers[INSERT_TOKEN_HEADER] for r in seen] == ["batch.0", "batch.1"]
    assert {r.headers["authorization"] for r in seen} == {"Bearer tok"}


def test_an_owner_that_refuses_raises_so_the_sink_retries() -> None:
    writer = _writer(httpx.Response(503, text="the store did not take the rows"), [])
    with pytest.raises(StoreWriteRefused, match="503 for feedback"):
        writer.write(FEEDBACK, _lines(10), "batch")
