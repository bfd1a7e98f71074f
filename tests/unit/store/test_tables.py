from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.factories import valid_event
from vigil.core.prices import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import PayloadError, decode_enriched_batch, encode_enriched_batch
from vigil.store.tables import TRACE_COLUMNS, first_occurrences, trace_line
from vigil_protos.v1 import events_pb2 as pb

SCHEMA = Path(__file__).parents[3] / "schemas" / "topics" / "traces.enriched.schema.json"


def _records() -> list[dict[str, Any]]:
    batch = pb.TraceBatch(project_id="p", events=[valid_event(i) for i in range(3)])
    batch.received_at.GetCurrentTime()
    outcome = enrich_record(batch.SerializeToString(), 2, 41, EnrichConfig(PriceBook()))
    return [doc for _, doc in decode_enriched_batch(encode_enriched_batch(outcome.records))]


def test_an_enriched_record_is_one_json_line_per_trace() -> None:
    records = _records()
    payload = encode_enriched_batch(records)
    assert payload.count(b"\n") == len(records) - 1
    decoded = decode_enriched_batch(payload)
    assert [doc for _, doc in decoded] == records
    line = trace_line(*decoded[0])
    assert (line.project_id, line.id) == ("p", records[0]["event_id"])
    assert orjson.loads(line.line) == records[0]
    assert (records[0]["raw_partition"], records[0]["raw_offset"]) == (2, 41)


@pytest.mark.parametrize(("change", "message"), [
    ({"event_id": ""}, "event_id"),
    ({"start_time": "yesterday"}, "start_time"),
    ({"input_tokens": "12"}, "input_tokens"),
    ({"input_tokens": True}, "input_tokens"),
    ({"total_cost": None}, "total_cost"),
    ({"attributes": []}, "attributes"),
])
def test_bad_records_are_payload_errors(change: dict[str, object], message: str) -> None:
    record = {**_records()[0], **change}
    with pytest.raises(PayloadError, match=message):
        trace_line(orjson.dumps(record), record)


def test_a_missing_column_is_a_payload_error() -> None:
    record = _records()[0]
    del record["model"]
    with pytest.raises(PayloadError, match="model"):
        trace_line(orjson.dumps(record), record)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'{"a": 1}\n[1]', b'{"a": 1}\n'])
def test_unreadable_records_are_payload_errors(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_enriched_batch(payload)


def test_first_occurrences_keeps_the_first_of_each_key() -> None:
    rows = [["a", 1], ["b", 2], ["a", 3]]
    assert first_occurrences(rows, lambda r: r[0]) == [["a", 1], ["b", 2]]


def test_enriched_records_match_the_published_json_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    python_types = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
                    "object": dict}
    for record in _records():
        assert set(record) == set(schema["required"]) == set(TRACE_COLUMNS)
        for name, spec in schema["properties"].items():
            assert isinstance(record[name], python_types[spec["type"]]), name
