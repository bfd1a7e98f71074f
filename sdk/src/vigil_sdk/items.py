"""What the caller thread puts on the queue: plain tuples, converted to protobuf later.

Building a protobuf costs tens of microseconds; a NamedTuple costs well under one.
The fields keep whatever the app passed (datetimes or epoch seconds, dicts or
objects); :mod:`vigil_sdk.build` turns them into wire messages on the sender thread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

Moment = datetime | float | int  # a datetime (naive = UTC) or seconds since the epoch
Prompt = str | Sequence[Any]  # a user message, or messages as dicts {role, content, name}


class PendingTrace(NamedTuple):
    event_id: str
    trace_id: str
    model: str
    provider: str
    prompt: Prompt | None
    completion: str | None
    start: Moment | None
    end: Moment
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    status: str | int | None
    error_type: str
    error_message: str
    finish_reason: str
    span_id: str
    parent_span_id: str
    session_id: str
    user_id: str
    prompt_template_id: str
    prompt_template_version: str
    params: Mapping[str, Any] | None
    attributes: Mapping[str, Any] | None


class PendingFeedback(NamedTuple):
    feedback_id: str
    trace_id: str
    kind: str | int
    value: float | bool | str | None
    comment: str
    user_id: str
    time: float


def new_event_id() -> str:
    """A random (version 4) UUID string, about 3x faster than ``str(uuid.uuid4())``."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_trace_id() -> str:
    """32 random hex digits, the W3C trace id format."""
    return os.urandom(16).hex()
