from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import valid_event
from vigil.enrich.cost import PriceBook
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import PayloadError, decode_enriched_batch, encode_enriched_batch
from vigil.sink.rows import TRACE_COLUMNS, first_occurrences, trace_row
from vigil.v1 import events_pb2 as pb


def _records() -> list[dict[str, object]]:
    batch = pb.TraceBatch(project_id="p", events=[valid_event(i) for i in range(3)])
    batch.received_at.GetCurrentTime()
    outcome = enrich_record(batch.SerializeToString(), 2, 41, EnrichConfig(PriceBook()))
    return decode_enriched_batch(encode_enriched_batch(outcome.records))


def test_enriched_records_become_rows_in_column_order() -> None:
    records = _records()
    row = trace_row(records[0])
    assert len(row) == len(TRACE_COLUMNS)
    values = dict(zip(TRACE_COLUMNS, row, strict=True))
    assert values["project_id"] == "p"
    assert isinstance(values["start_time"], datetime) and values["start_time"].tzinfo == UTC
    assert (values["raw_partition"], values["raw_offset"]) == (2, 41)
    assert values["cost_known"] is True and values["total_cost"] > 0


@pytest.mark.parametrize(("change", "message"), [
    ({"event_id": ""}, "event_id"),
    ({"start_time": "yesterday"}, "start_time"),
])
def test_bad_records_are_payload_errors(change: dict[str, object], message: str) -> None:
    record = {**_records()[0], **change}
    with pytest.raises(PayloadError, match=message):
        trace_row(record)


def test_a_missing_column_is_a_payload_error() -> None:
    record = _records()[0]
    del record["model"]
    with pytest.raises(PayloadError, match="model"):
        trace_row(record)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'{"v": 9, "traces": []}',
                                     b'{"v": 1, "traces": [1]}'])
def test_unreadable_batches_are_payload_errors(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_enriched_batch(payload)


def test_first_occurrences_keeps_the_first_of_each_id() -> None:
    rows = [["a", 1], ["b", 2], ["a", 3]]
    assert first_occurrences(rows, 0) == [["a", 1], ["b", 2]]


def test_enriched_records_match_the_published_json_schema() -> None:
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).parents[3] / "schemas" / "topics" /
                         "traces.enriched.schema.json").read_text())
    item = schema["properties"]["traces"]["items"]
    python_types = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
                    "object": dict}
    for record in _records():
        assert set(record) == set(item["required"]) == set(TRACE_COLUMNS)
        for name, spec in item["properties"].items():
            assert isinstance(record[name], python_types[spec["type"]]), name
