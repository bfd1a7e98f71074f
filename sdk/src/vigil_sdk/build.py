"""Pure conversion of queued items to wire messages (runs on the sender thread).

``trace_event(item, app, environment)`` and ``feedback_event(item)`` raise
``ValueError``/``TypeError`` for arguments that cannot become an event (a
negative token count, a start time that is not a time); the sender counts those
as dropped ``bad_argument``. They do not enforce the collector's rules (a
missing model, an end before the start): the collector answers those with
INVALID_ARGUMENT, counted as ``rejected`` with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from google.protobuf.timestamp_pb2 import Timestamp

from vigil_protos.v1 import events_pb2 as pb
from vigil_sdk._version import __version__
from vigil_sdk.items import Moment, PendingFeedback, PendingTrace, Prompt

SDK_TAG = f"vigil-python/{__version__}"
_STATUSES = {"ok": pb.TRACE_STATUS_OK, "error": pb.TRACE_STATUS_ERROR}
_FEEDBACK_KINDS = {"thumbs": pb.FEEDBACK_KIND_THUMBS, "score": pb.FEEDBACK_KIND_SCORE,
                   "text": pb.FEEDBACK_KIND_TEXT}
_THUMBS = {"up": 1.0, "down": 0.0}
_PARAM_FLOATS = ("temperature", "top_p")
_PARAM_INTS = ("max_tokens", "seed")
_PARAM_KNOWN = frozenset({*_PARAM_FLOATS, *_PARAM_INTS, "max_completion_tokens", "stop",
                          "response_format"})


def trace_event(item: PendingTrace, app: str, environment: str) -> pb.TraceEvent:
    event = pb.TraceEvent(
        event_id=item.event_id, trace_id=item.trace_id, span_id=item.span_id,
        parent_span_id=item.parent_span_id, session_id=item.session_id, user_id=item.user_id,
        app=app, environment=environment, provider=item.provider, model=item.model,
        completion=item.completion or "", finish_reason=item.finish_reason,
        prompt_template_id=item.prompt_template_id,
        prompt_template_version=item.prompt_template_version,
        status=_status(item), error_type=item.error_type, error_message=item.error_message,
        prompt=messages(item.prompt),
    )
    end = timestamp(item.end)
    event.end_time.CopyFrom(end)
    event.start_time.CopyFrom(end if item.start is None else timestamp(item.start))
    for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        value = getattr(item, name)
        if value is not None:
            setattr(event, name, _count(name, value))
    extra = _params(event.params, item.params) if item.params else {}
    event.attributes.update(attributes({**extra, **(item.attributes or {})}))
    return event


def feedback_event(item: PendingFeedback) -> pb.FeedbackEvent:
    kind = cast(pb.FeedbackKind, _FEEDBACK_KINDS.get(item.kind, 0)
                if isinstance(item.kind, str) else int(item.kind))
    if kind not in pb.FeedbackKind.values() or kind == pb.FEEDBACK_KIND_UNSPECIFIED:
        raise ValueError(f"feedback kind must be 'thumbs', 'score' or 'text', not {item.kind!r}")
    value = _THUMBS.get(item.value, item.value) if isinstance(item.value, str) else item.value
    value = 0.0 if value is None else float(value)
    return pb.FeedbackEvent(
        feedback_id=item.feedback_id, trace_id=item.trace_id, kind=kind, value=value,
        comment=item.comment, user_id=item.user_id, time=timestamp(item.time),
    )


def timestamp(moment: Moment) -> Timestamp:
    """A datetime (naive ones are UTC) or seconds since the epoch, as a Timestamp."""
    stamp = Timestamp()
    if isinstance(moment, datetime):
        stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    elif isinstance(moment, int | float) and not isinstance(moment, bool):
        if not math.isfinite(moment):
            raise ValueError(f"not a time: {moment!r}")
        seconds = math.floor(moment)
        nanos = min(round((moment - seconds) * 1e9), 999_999_999)
        stamp.seconds, stamp.nanos = seconds, nanos
    else:
        raise TypeError(f"a time must be a datetime or epoch seconds, not {type(moment).__name__}")
    return stamp


def messages(prompt: Prompt | None) -> list[pb.Message]:
    """A string (one user message) or a sequence of {role, content, name} dicts or
    objects with those attributes (OpenAI-style; list content parts are joined)."""
    if prompt is None:
        return []
    if isinstance(prompt, str):
        return [pb.Message(role="user", content=prompt)]
    return [_message(m) for m in prompt]


def _message(message: Any) -> pb.Message:
    if isinstance(message, str):
        return pb.Message(role="user", content=message)
    role = _field(message, "role")
    if not isinstance(role, str):
        raise TypeError(f"a prompt message needs a role, got {type(message).__name__}")
    content = _text(_field(message, "content"))
    if not content and (calls := _field(message, "tool_calls")):
        names = [str(_field(_field(c, "function"), "name") or "") for c in calls]
        content = f"[tool calls: {', '.join(names)}]"
    return pb.Message(role=role, content=content, name=str(_field(message, "name") or ""))


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):  # content parts: [{"type": "text", "text": ...}, ...]
        parts = []
        for part in content:
            kind = _field(part, "type")
            parts.append(str(_field(part, "text") or "") if kind == "text" else f"[{kind}]")
        return "\n".join(parts)
    return str(content)


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _status(item: PendingTrace) -> pb.TraceStatus:
    if item.status is None:
        failed = item.error_type or item.error_message
        return pb.TRACE_STATUS_ERROR if failed else pb.TRACE_STATUS_OK
    if isinstance(item.status, str):
        if item.status.lower() not in _STATUSES:
            raise ValueError(f"status must be 'ok' or 'error', not {item.status!r}")
        return _STATUSES[item.status.lower()]
    return cast(pb.TraceStatus, int(item.status))


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, not {value!r}")
    return value


def _params(params: pb.RequestParams, given: Mapping[str, Any]) -> dict[str, str]:
    """Fill the known request parameters; return the other scalar ones as attributes."""
    for name in _PARAM_FLOATS:
        if given.get(name) is not None:
            setattr(params, name, float(given[name]))
    for name in _PARAM_INTS:
        if given.get(name) is not None:
            setattr(params, name, int(given[name]))
    if given.get("max_tokens") is None and given.get("max_completion_tokens") is not None:
        params.max_tokens = int(given["max_completion_tokens"])
    stop = given.get("stop")
    if stop:
        params.stop.extend([stop] if isinstance(stop, str) else [str(s) for s in stop])
    response_format = given.get("response_format")
    if response_format:
        params.response_format = str(_field(response_format, "type") or "") \
            if not isinstance(response_format, str) else response_format
    return {f"param.{k}": str(v) for k, v in given.items()
            if k not in _PARAM_KNOWN and isinstance(v, str | int | float | bool)}


def attributes(given: Mapping[str, Any]) -> dict[str, str]:
    out = {str(k): v if isinstance(v, str) else str(v) for k, v in given.items()}
    out.setdefault("sdk", SDK_TAG)
    return out
