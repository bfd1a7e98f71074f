"""A fast path from a trace event's protobuf JSON (already parsed) to `pb.TraceEvent`.

`json_format.ParseDict` walks every field in Python and costs most of an import's time.
`fast_trace` builds the same message directly for the common form of the Kafka contract's
JSON (camelCase or proto field names, string fields as text, token counts as numbers or
digit strings, RFC 3339 timestamps, plain prompt messages and attributes) and answers None
for anything else, which then goes through ParseDict and gets its exact verdict or error.
tests/unit/launch/test_import_json.py checks that both give the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from vigil_protos.v1 import events_pb2 as pb

_FIELDS = pb.TraceEvent.DESCRIPTOR.fields
_STRINGS = {name: f.name for f in _FIELDS if f.type == f.TYPE_STRING
            for name in (f.name, f.json_name)}
_COUNTS = {name: f.name for f in _FIELDS if f.type == f.TYPE_UINT64
           for name in (f.name, f.json_name)}
_TIMES = {"startTime": "start_time", "start_time": "start_time",
          "endTime": "end_time", "end_time": "end_time"}
_STATUSES = {name: value for name, value in pb.TraceStatus.items()}
_MESSAGE_KEYS = frozenset({"role", "content", "name"})
_DIGITS = re.compile(r"[0-9]{1,20}")
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                      r"(?:(Z)|([+-])(\d{2}):(\d{2}))")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_U64 = (1 << 64) - 1


def fast_trace(doc: dict[str, Any]) -> pb.TraceEvent | None:
    """The message ParseDict would make of `doc`, or None: not in the common form."""
    kwargs: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _STRINGS:
            if type(value) is not str:
                return None
            kwargs[_STRINGS[key]] = value
        elif key in _COUNTS:
            count = _count(value)
            if count is None:
                return None
            kwargs[_COUNTS[key]] = count
        elif key in _TIMES:
            stamp = _timestamp(value)
            if stamp is None:
                return None
            kwargs[_TIMES[key]] = stamp
        elif key == "prompt":
            messages = _messages(value)
            if messages is None:
                return None
            kwargs["prompt"] = messages
        elif key == "attributes":
            if type(value) is not dict or not all(
                    type(k) is str and type(v) is str for k, v in value.items()):
                return None
            kwargs["attributes"] = value
        elif key == "status":
            if value not in _STATUSES or type(value) is not str:
                return None
            kwargs["status"] = _STATUSES[value]
        elif key != "params":
            return None
    event = pb.TraceEvent(**kwargs)
    if "params" in doc:
        json_format.ParseDict(doc["params"], event.params)
    return event


def _count(value: object) -> int | None:
    if type(value) is int:
        return value if 0 <= value <= _MAX_U64 else None
    if type(value) is str and _DIGITS.fullmatch(value):
        number = int(value)
        return number if number <= _MAX_U64 else None
    return None


def _messages(value: object) -> list[pb.Message] | None:
    if type(value) is not list:
        return None
    messages = []
    for item in value:
        if type(item) is not dict or not item.keys() <= _MESSAGE_KEYS or not all(
                type(v) is str for v in item.values()):
            return None
        messages.append(pb.Message(**item))
    return messages


def _timestamp(value: object) -> Timestamp | None:
    """An RFC 3339 time with a zone (as Timestamp.FromJsonString reads it), or None."""
    match = _RFC3339.fullmatch(value) if type(value) is str else None
    if match is None:
        return None
    y, mo, d, h, mi, s, fraction, zulu, sign, oh, om = match.groups()
    if y in ("0001", "9999"):  # an offset may leave the valid range: ParseDict decides
        return None
    try:
        moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return None
    if not zulu:
        offset = timedelta(hours=int(oh), minutes=int(om))
        moment -= offset if sign == "+" else -offset
    nanos = round(float("0." + fraction) * 1e9) if fraction else 0  # FromJsonString's rounding
    return Timestamp(seconds=(moment - _EPOCH) // timedelta(seconds=1), nanos=nanos)
