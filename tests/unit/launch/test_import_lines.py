"""`vigil import`'s line parsing: what each kind of line becomes, and why a bad one is
refused (table-driven; the time is an argument)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from google.protobuf import json_format

from tests.support.factories import valid_event
from vigil.events.validate import Limits
from vigil.launch.import_cli import RejectsFile, count_lines
from vigil.launch.import_lines import ImportedScore, LineRefused, import_limits, parse_line
from vigil.settings import Settings
from vigil_protos.v1 import events_pb2 as pb

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LIMITS = import_limits(Limits.from_settings(Settings()), NOW)
OLD = NOW - timedelta(days=400)  # far older than the 90-day retention


def trace_json(**fields: object) -> dict[str, object]:
    doc = json_format.MessageToDict(valid_event(1, OLD))
    doc.update(fields)
    return doc


def line(doc: object) -> bytes:
    return orjson.dumps(doc)


def test_a_trace_older_than_the_retention_is_accepted_with_its_timestamps() -> None:
    doc = trace_json(startTime="2025-11-29T09:00:00Z", endTime="2025-11-29T09:00:01.250Z")
    event = parse_line(line(doc), LIMITS, NOW)
    assert isinstance(event, pb.TraceEvent)
    assert event.event_id == doc["eventId"]
    assert event.start_time.ToJsonString() == "2025-11-29T09:00:00Z"
    assert event.end_time.ToJsonString() == "2025-11-29T09:00:01.250Z"


def test_feedback_without_an_id_gets_one_from_its_content() -> None:
    doc = {"feedback": {"traceId": "t1", "kind": "FEEDBACK_KIND_THUMBS", "value": 0,
                        "time": "2025-11-29T09:00:05Z"}}
    first, again = parse_line(line(doc), LIMITS, NOW), parse_line(line(doc), LIMITS, NOW)
    other = parse_line(line({"feedback": {**doc["feedback"], "value": 1}}), LIMITS, NOW)
    assert isinstance(first, pb.FeedbackEvent) and isinstance(other, pb.FeedbackEvent)
    assert first.feedback_id and first == again
    assert other.feedback_id != first.feedback_id


def test_feedback_keeps_the_id_it_has() -> None:
    doc = {"feedback": {"feedbackId": "fb-7", "traceId": "t1", "kind": "FEEDBACK_KIND_SCORE",
                        "value": 0.25, "time": "2025-11-29T09:00:05Z"}}
    parsed = parse_line(line(doc), LIMITS, NOW)
    assert isinstance(parsed, pb.FeedbackEvent) and parsed.feedback_id == "fb-7"


def test_a_score_line() -> None:
    doc = {"score": {"traceId": "t1", "name": "helpfulness", "value": 0.75,
                     "label": "good", "time": "2025-11-29T09:10:00+00:00"}}
    assert parse_line(line(doc), LIMITS, NOW) == ImportedScore(
        trace_id="t1", name="helpfulness", value=0.75, label="good",
        time=datetime(2025, 11, 29, 9, 10, tzinfo=UTC))


REFUSED = [
    ("not JSON", b'{"eventId": "x"', "not JSON"),
    ("an array", b"[1, 2]", "not a JSON object"),
    ("an unknown field", line(trace_json(colour="red")), "not a vigil.v1.TraceEvent"),
    ("a wrong type", line(trace_json(inputTokens="many")), "not a vigil.v1.TraceEvent"),
    ("no event id", line(trace_json(eventId="")), "invalid event: event_id: is required"),
    ("no model", line(trace_json(model="")), "invalid event: model: is required"),
    ("end before start", line(trace_json(startTime="2025-11-29T09:00:02Z",
                                         endTime="2025-11-29T09:00:01Z")),
     "invalid event: end_time: is before start_time"),
    ("in the future", line(trace_json(startTime="2027-01-01T00:00:00Z",
                                      endTime="2027-01-01T00:00:01Z")),
     "ahead of the server's clock"),
    ("before the earliest time", line(trace_json(startTime="1990-01-01T00:00:00Z",
                                                 endTime="1990-01-01T00:00:01Z")),
     "the earliest accepted time"),
    ("too long", line(trace_json(completion="x" * (4 * Settings().max_event_bytes))),
     "the limit is"),
    ("feedback without time", line({"feedback": {"traceId": "t", "kind":
                                                 "FEEDBACK_KIND_THUMBS", "value": 1}}),
     "time: is required in an import"),
    ("feedback with a bad value", line({"feedback": {
        "traceId": "t", "kind": "FEEDBACK_KIND_THUMBS", "value": 0.5,
        "time": "2025-11-29T09:00:05Z"}}), "value: must be 1 (thumbs up) or 0"),
    ("feedback beside another key", line({"feedback": {}, "score": {}}),
     "holds only"),
    ("a score without a name", line({"score": {"traceId": "t", "value": 0.5}}),
     "name: is required"),
    ("a score out of range", line({"score": {"traceId": "t", "name": "n", "value": 2}}),
     "value: must be a number between 0 and 1"),
    ("a boolean score", line({"score": {"traceId": "t", "name": "n", "value": True}}),
     "value: must be a number"),
    ("a score with an unknown field", line({"score": {"traceId": "t", "name": "n",
                                                      "value": 1, "weight": 2}}),
     "unknown fields ['weight']"),
    ("a score time without a zone", line({"score": {"traceId": "t", "name": "n",
                                                    "value": 1, "time": "2025-11-29T09:00"}}),
     "needs a zone"),
]


@pytest.mark.parametrize(("case", "text", "reason"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_bad_line_is_refused_with_its_reason(case: str, text: bytes, reason: str) -> None:
    with pytest.raises(LineRefused) as refused:
        parse_line(text, LIMITS, NOW)
    assert reason in str(refused.value), case


def test_the_live_limits_would_refuse_the_same_old_trace() -> None:
    """What import_limits changes: only the age limit."""
    live = Limits.from_settings(Settings())
    with pytest.raises(LineRefused, match="older than the retention period"):
        parse_line(line(trace_json()), live, NOW)
    assert import_limits(live, NOW).max_event_bytes == live.max_event_bytes
    assert import_limits(live, NOW).max_future_skew == live.max_future_skew


def test_the_rejects_file_names_each_line_and_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "h.rejects.jsonl"
    path.write_text("left over from an earlier run\n")
    with RejectsFile(path) as rejects:
        assert not path.exists()  # no file at all while nothing is refused
        rejects.add(3, b'{"eventId": "x"\n', "not JSON: unexpected end of data")
        rejects.add(9, b"\xff\xfe\n", "not JSON: invalid utf-8")
    rows = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    assert rows == [
        {"line": 3, "reason": "not JSON: unexpected end of data", "text": '{"eventId": "x"'},
        {"line": 9, "reason": "not JSON: invalid utf-8", "text": "\ufffd\ufffd"}]
    assert rejects.count == 2


def test_count_lines(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"a\n" * 70_000 + b"last without a newline")
    assert count_lines(path) == 70_000
