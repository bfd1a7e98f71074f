"""Feedback on demo calls: thumbs, scores and comments, worse for errors and for the
weak prompt versions in ``WORSE_VERSIONS``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from vigil.demo.catalog import WORSE_VERSIONS
from vigil.demo.content import clamp, uuid4
from vigil_protos.v1 import events_pb2

_PRAISE = ("Perfect, thanks!", "Exactly what I needed.", "Clear and quick.", "Saved me an hour.")
_COMPLAINTS = (
    "This didn't answer my question.",
    "Too long, I just wanted the steps.",
    "The link it gave me doesn't exist.",
    "Wrong, that setting is not on that page.",
    "It made up a number that isn't in the document.",
)


def feedback_on(
    rng: random.Random, event: events_pb2.TraceEvent, now: datetime
) -> events_pb2.FeedbackEvent:
    p_up = _thumbs_up_probability(event)
    kind = rng.choices(
        (
            events_pb2.FEEDBACK_KIND_THUMBS,
            events_pb2.FEEDBACK_KIND_SCORE,
            events_pb2.FEEDBACK_KIND_TEXT,
        ),
        weights=(0.75, 0.15, 0.10),
    )[0]
    liked = rng.random() < p_up
    value, comment = (1.0 if liked else 0.0), ""
    if kind == events_pb2.FEEDBACK_KIND_SCORE:
        value = round(clamp(rng.gauss(p_up, 0.15), 0.0, 1.0), 2)
    elif kind == events_pb2.FEEDBACK_KIND_TEXT:
        value = 0.0
    if kind == events_pb2.FEEDBACK_KIND_TEXT or rng.random() < 0.2:
        comment = rng.choice(_PRAISE if liked else _COMPLAINTS)
    given_at = event.end_time.ToDatetime(tzinfo=now.tzinfo) + timedelta(seconds=rng.uniform(3, 90))
    return events_pb2.FeedbackEvent(
        feedback_id=uuid4(rng),
        trace_id=event.trace_id,
        kind=kind,
        value=value,
        comment=comment,
        user_id=event.user_id,
        time=min(given_at, now),
    )


def _thumbs_up_probability(event: events_pb2.TraceEvent) -> float:
    if event.status == events_pb2.TRACE_STATUS_ERROR:
        return 0.15
    if (event.prompt_template_id, event.prompt_template_version) in WORSE_VERSIONS:
        return 0.5
    return 0.85
