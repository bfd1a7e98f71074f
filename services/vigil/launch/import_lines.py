"""One line of a `vigil import` file -> a checked record, or the reason it is refused (pure;
the time is an argument).

A line holds one JSON object: a trace event in the protobuf JSON form of the Kafka contract
(`{"eventId": ..., "startTime": "2026-10-05T09:00:00Z", ...}`), or `{"feedback": {...}}` (a
FeedbackEvent in the same form), or `{"score": {"traceId": ..., "name": ..., "value": ...}}`
(a quality score from elsewhere; optional `eventId`, `version`, `label`, `rationale`,
`time`). Traces and feedback get the validation of live traffic, except that history older
than the retention period is accepted: timestamps are kept as given. Feedback must carry its
time (history has no "now" to stand in for it); one without an id gets an id derived from
its content, so importing the same file twice stores it once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from google.protobuf import json_format

from vigil.events.validate import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    Limits,
    validate_feedback,
    validate_trace,
)
from vigil.launch.import_json import fast_trace
from vigil_protos.v1 import events_pb2 as pb

JSON_EXPANSION = 4  # a JSON line may spell an event in this many times its protobuf bytes
_FEEDBACK_IDS = uuid.UUID("6f1b3c2e-8d4a-4b8e-9a51-2c7e0d9f4a10")  # namespace of derived ids
SCORE_FIELDS = frozenset({"traceId", "name", "value", "eventId", "version", "label",
                          "rationale", "time"})


class LineRefused(ValueError):
    """The line cannot be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class ImportedScore:
    """A score from elsewhere: stored like a judge score of the trace it names."""

    trace_id: str
    name: str
    value: float
    event_id: str = ""
    version: str = "import"
    label: str = ""
    rationale: str = ""
    time: datetime | None = None


ImportRecord = pb.TraceEvent | pb.FeedbackEvent | ImportedScore


def import_limits(limits: Limits, now: datetime) -> Limits:
    """The live limits, with any age back to the earliest accepted time allowed."""
    return dataclasses.replace(limits, max_age=now - limits.earliest)


def parse_line(line: bytes, limits: Limits, now: datetime) -> ImportRecord:
    """The record of one line (`limits` from `import_limits`); raises LineRefused."""
    limit = limits.max_event_bytes * JSON_EXPANSION
    if len(line) > limit:
        raise LineRefused(f"line is {len(line)} bytes, the limit is {limit}")
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise LineRefused(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise LineRefused("not a JSON object")
    if "feedback" in doc:
        return _feedback(_only(doc, "feedback"), limits, now)
    if "score" in doc:
        return _score(_only(doc, "score"))
    return _trace(doc, limits, now)


def _only(doc: dict[str, Any], key: str) -> dict[str, Any]:
    if len(doc) != 1:
        raise LineRefused(f"a {key} line holds only {{\"{key}\": {{...}}}}")
    inner = doc[key]
    if not isinstance(inner, dict):
        raise LineRefused(f"{key} is not a JSON object")
    return inner


def _trace(doc: dict[str, Any], limits: Limits, now: datetime) -> pb.TraceEvent:
    try:
        event = fast_trace(doc)
        if event is None:
            event = pb.TraceEvent()
            json_format.ParseDict(doc, event)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise LineRefused(f"not a vigil.v1.TraceEvent: {exc}") from exc
    if violation := validate_trace(event, limits, now):
        raise LineRefused(f"invalid event: {violation}")
    return event


def _feedback(doc: dict[str, Any], limits: Limits, now: datetime) -> pb.FeedbackEvent:
    feedback = pb.FeedbackEvent()
    try:
        json_format.ParseDict(doc, feedback)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise LineRefused(f"not a vigil.v1.FeedbackEvent: {exc}") from exc
    if not feedback.HasField("time"):
        raise LineRefused("invalid feedback: time: is required in an import")
    if violation := validate_feedback(feedback, limits, now):
        raise LineRefused(f"invalid feedback: {violation}")
    if not feedback.feedback_id:
        digest = hashlib.blake2b(feedback.SerializeToString(deterministic=True),
                                 digest_size=16).hexdigest()
        feedback.feedback_id = str(uuid.uuid5(_FEEDBACK_IDS, digest))
    return feedback


def _score(doc: dict[str, Any]) -> ImportedScore:
    unknown = sorted(set(doc) - SCORE_FIELDS)
    if unknown:
        raise LineRefused(f"invalid score: unknown fields {unknown}")
    texts = {}
    for name, required, limit in (("traceId", True, MAX_ID_CHARS), ("name", True, MAX_NAME_CHARS),
                                  ("eventId", False, MAX_ID_CHARS),
                                  ("version", False, MAX_NAME_CHARS),
                                  ("label", False, MAX_NAME_CHARS),
                                  ("rationale", False, 10_000)):
        value = doc.get(name, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise LineRefused(f"invalid score: {name}: is required text" if required
                              else f"invalid score: {name}: is not text")
        if len(value) > limit or (name != "rationale" and not value.isprintable()):
            raise LineRefused(f"invalid score: {name}: longer than {limit} characters or "
                              "not printable")
        texts[name] = value
    value = doc.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) \
            or not 0.0 <= value <= 1.0:
        raise LineRefused("invalid score: value: must be a number between 0 and 1")
    return ImportedScore(trace_id=texts["traceId"], name=texts["name"], value=float(value),
                         event_id=texts["eventId"], version=texts["version"] or "import",
                         label=texts["label"], rationale=texts["rationale"],
                         time=_time(doc.get("time")))


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineRefused("invalid score: time: is not an ISO 8601 text")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise LineRefused(f"invalid score: time: {exc}") from exc
    if moment.tzinfo is None:
        raise LineRefused("invalid score: time: needs a zone (e.g. Z)")
    return moment
