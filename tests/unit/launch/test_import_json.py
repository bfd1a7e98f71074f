"""The import's fast JSON -> TraceEvent path gives the message json_format.ParseDict gives, and
declines (None) whatever it does not cover, so ParseDict decides those."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf import json_format

from tests.support.factories import valid_event
from vigil.launch.import_json import fast_trace
from vigil_protos.v1 import events_pb2 as pb

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def parsed(doc: dict[str, Any]) -> pb.TraceEvent:
    event = pb.TraceEvent()
    json_format.ParseDict(doc, event)
    return event


def base(**fields: Any) -> dict[str, Any]:
    doc = json_format.MessageToDict(valid_event(3, NOW))
    doc.update(fields)
    return doc


SAME = [
    ("as MessageToDict writes it (counts as strings)", base()),
    ("counts as numbers", base(inputTokens=12, outputTokens=0, cachedInputTokens=5)),
    ("proto field names", {"event_id": "e", "trace_id": "t", "app": "a", "model": "m",
                           "start_time": "2026-01-01T00:00:00Z", "input_tokens": 7}),
    ("an offset and nanos", base(startTime="2026-01-01T10:00:20.021-05:00",
                                 endTime="2026-01-01T15:00:21.123456789+00:00")),
    ("a positive offset", base(startTime="2026-03-01T00:30:00+01:30")),
    ("one fractional digit", base(startTime="2026-03-01T00:30:00.5Z")),
    ("an error status", base(status="TRACE_STATUS_ERROR", errorType="Timeout",
                             errorMessage="upstream timed out")),
    ("params", base(params={"temperature": 0.2, "maxTokens": 300, "stop": ["\n"],
                            "responseFormat": "json_object", "seed": "42"})),
    ("a named message", base(prompt=[{"role": "tool", "content": "42", "name": "calc"}])),
    ("unicode text", base(completion="Grüße, 你好 🙂", attributes={"ctx": "é"})),
    ("empty", {}),
]


@pytest.mark.parametrize(("case", "doc"), SAME, ids=[c[0] for c in SAME])
def test_the_fast_path_gives_what_parse_dict_gives(case: str, doc: dict[str, Any]) -> None:
    fast = fast_trace(doc)
    assert fast is not None, case
    assert fast == parsed(doc)
    assert fast.SerializeToString(deterministic=True) == \
        parsed(doc).SerializeToString(deterministic=True)


DECLINED = [
    ("an unknown field", base(colour="red")),
    ("a number for a string", base(app=7)),
    ("null", base(completion=None)),
    ("a negative count", base(inputTokens=-1)),
    ("a boolean count", base(inputTokens=True)),
    ("a float count", base(inputTokens=1.0)),
    ("an exponent count", base(inputTokens="1e3")),
    ("a time without a zone", base(startTime="2026-01-01T00:00:00")),
    ("a lowercase t", base(startTime="2026-01-01t00:00:00Z")),
    ("a day that does not exist", base(startTime="2026-02-30T00:00:00Z")),
    ("ten fractional digits", base(startTime="2026-01-01T00:00:00.1234567890Z")),
    ("the year 1", base(startTime="0001-01-01T00:00:00+01:00")),
    ("a status number", base(status=2)),
    ("an unknown status", base(status="TRACE_STATUS_MAYBE")),
    ("a message with an extra key", base(prompt=[{"role": "user", "content": "x", "x": 1}])),
    ("a message that is text", base(prompt=["hello"])),
    ("an attribute that is a number", base(attributes={"n": 1})),
]


@pytest.mark.parametrize(("case", "doc"), DECLINED, ids=[c[0] for c in DECLINED])
def test_the_fast_path_declines_the_rest(case: str, doc: dict[str, Any]) -> None:
    assert fast_trace(doc) is None, case
