"""`invalid_json`: JSON was requested (params `response_format` json_object or
json_schema, as a string or `{"type": ...}`) and the completion is not a JSON object
(labels `invalid_json`, `not_object`, `fenced_json`)."""

from __future__ import annotations

import json
import re

import orjson

from vigil.judge.evaluators.base import VERSION, judged
from vigil.judge.model import JudgeInput, Judgment

_JSON_FORMATS = frozenset({"json_object", "json_schema"})
_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\r?\n(.*?)\r?\n?```\Z", re.DOTALL)


def requested_json(params: dict[str, object]) -> bool:
    """True when the call asked for JSON output (`response_format` json_object/json_schema)."""
    fmt = params.get("response_format")
    if isinstance(fmt, dict):
        fmt = fmt.get("type")
    return isinstance(fmt, str) and fmt.strip().lower() in _JSON_FORMATS


class InvalidJson:
    name: str = "invalid_json"
    version: str = VERSION

    def evaluate(self, item: JudgeInput) -> Judgment | None:
        if item.status != "ok" or not requested_json(item.params):
            return None
        text = item.completion.strip()
        if not text:
            return judged(self, False, "invalid_json", "JSON was requested, the answer is empty")
        ok, value, reason = _parse_json(text)
        if not ok:
            fenced = _FENCE.match(text)
            if fenced is not None and _parse_json(fenced[1].strip())[0]:
                return judged(self, False, "fenced_json",
                                 "valid JSON, but wrapped in a markdown code fence")
            return judged(self, False, "invalid_json", f"not valid JSON: {reason}")
        if not isinstance(value, dict):
            kind = type(value).__name__ if value is not None else "null"
            return judged(self, False, "not_object", f"valid JSON, but a {kind}, not an object")
        return judged(self, True, "ok", "a valid JSON object")


def _parse_json(text: str) -> tuple[bool, object, str]:
    try:
        return True, orjson.loads(text), ""
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    try:  # orjson refuses integers beyond 64 bits, which JSON allows
        return True, json.loads(text, parse_constant=_reject_constant), ""
    except (ValueError, RecursionError):
        return False, None, reason[:120]


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
