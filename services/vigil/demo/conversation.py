"""A conversation of the demo world and its next call: which app, environment, model
and prompt version it runs on, and the trace event of one turn. Latency is log-normal
per model (0.3-20 s, longer with more output); about 3% of calls are errors (tokens
unset, empty completion, mostly fast; a Timeout takes the SDK's 10 s). About 10% of
calls have no token counts at all; reported input counts include app context that is not
logged in the prompt (retrieved articles, tool schemas). An error ends the conversation.

A model answers weakly (``vigil.demo.degraded``) at its ``weak_rate``, more often on the
prompt versions in ``WORSE_VERSIONS`` and mostly during a quality incident; the
schedule's ``Effects`` of the moment also drift the inputs or inflate the context."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.demo.apps import APPS
from vigil.demo.catalog import (
    INCIDENT_WEAK_RATE,
    MODELS,
    WORSE_VERSION_WEAK_RATE,
    WORSE_VERSIONS,
    AppSpec,
    ModelSpec,
    TemplateSpec,
)
from vigil.demo.content import (
    clamp,
    completion_text,
    error_message,
    hex_id,
    pick,
    text_tokens,
    user_message,
    uuid4,
)
from vigil.demo.degraded import weak_answer
from vigil.demo.schedule import Effects
from vigil_protos.v1 import events_pb2

_APP_VERSIONS = ("2024.11.2", "2024.11.3")
_ERROR_RATE = 0.03
_UNSET_TOKENS_OK_RATE = 0.072  # errors never report tokens: 3% + 97% * 7.2% ~ 10%
_MIN_LATENCY_S, _MAX_LATENCY_S = 0.3, 20.0
_INCIDENT_CONTEXT_TOKENS = (20_000, 40_000)  # the whole repository pasted as context
_ERRORS = (  # error_type, weight, (min, max) seconds before the client saw it
    ("RateLimitError", 5, (0.05, 0.4)),
    ("Timeout", 3, (10.0, 10.0)),
    ("ContextLengthExceeded", 1, (0.1, 0.5)),
    ("InternalServerError", 1, (0.3, 3.0)),
)
_VERSION_HINTS = (
    "",
    "\nKeep the answer under 150 words.",
    "\nThink step by step and always end with a follow-up question.",
)


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    region: str


@dataclass(slots=True)
class Session:
    session_id: str
    user: User
    app: AppSpec
    environment: str
    model: ModelSpec
    template: TemplateSpec
    version: str
    max_tokens: int
    turns_left: int
    app_version: str
    history: list[events_pb2.Message] = field(default_factory=list)
    turn: int = 0


def new_session(rng: random.Random, users: Sequence[User]) -> Session:
    app = rng.choices(APPS, weights=[a.weight for a in APPS])[0]
    template = rng.choice(app.templates)
    versions = [f"v{i + 1}" for i in range(len(template.version_weights))]
    return Session(
        session_id=f"sess_{hex_id(rng, 16)}",
        user=rng.choice(users),
        app=app,
        environment=pick(rng, app.environments),
        model=MODELS[pick(rng, app.models)],
        template=template,
        version=rng.choices(versions, weights=template.version_weights)[0],
        max_tokens=rng.choice(app.max_tokens),
        turns_left=1 + min(app.max_turns - 1, int(rng.expovariate(1 / 1.6))),
        app_version=rng.choice(_APP_VERSIONS),
    )


def _system_prompt(session: Session) -> str:
    index = int(session.version.removeprefix("v")) - 1
    return session.template.system + _VERSION_HINTS[index % len(_VERSION_HINTS)]


def _skeleton(rng: random.Random, session: Session, user_text: str) -> events_pb2.TraceEvent:
    system = events_pb2.Message(role="system", content=_system_prompt(session))
    user = events_pb2.Message(role="user", content=user_text)
    params = events_pb2.RequestParams(
        temperature=session.template.temperature,
        max_tokens=session.max_tokens,
        response_format=session.template.response_format,
    )
    return events_pb2.TraceEvent(
        event_id=uuid4(rng),
        trace_id=hex_id(rng, 32),
        span_id=hex_id(rng, 16),
        session_id=session.session_id,
        user_id=session.user.user_id,
        app=session.app.name,
        environment=session.environment,
        provider=session.model.provider,
        model=session.model.name,
        params=params,
        prompt=[system, *session.history, user],
        prompt_template_id=session.template.template_id,
        prompt_template_version=session.version,
        attributes={
            "region": session.user.region,
            "sdk": session.app.sdk,
            "app_version": session.app_version,
            "turn": str(session.turn + 1),
        },
    )


def weak_rate(session: Session, effects: Effects) -> float:
    """How likely the session's next answer is weak, given the incidents of the moment."""
    if effects.quality:
        return INCIDENT_WEAK_RATE
    worse = (session.template.template_id, session.version) in WORSE_VERSIONS
    return session.model.weak_rate + (WORSE_VERSION_WEAK_RATE if worse else 0.0)


def _fill_ok(
    rng: random.Random, event: events_pb2.TraceEvent, session: Session, effects: Effects
) -> float:
    """Set completion, finish reason and tokens; return the latency in seconds."""
    if rng.random() < weak_rate(session, effects):
        completion = weak_answer(rng, session.template, effects.quality)
    else:
        completion = completion_text(rng, session.app, session.template)
    wanted = int(clamp(text_tokens(rng, len(completion)), 10, 1500))
    output_tokens = min(wanted, session.max_tokens)
    truncated = wanted > session.max_tokens
    if truncated:
        completion = completion[: len(completion) * output_tokens // wanted]
    model = session.model
    event.status = events_pb2.TRACE_STATUS_OK
    event.completion = completion
    event.finish_reason = model.length_reason if truncated else model.stop_reason
    if rng.random() >= _UNSET_TOKENS_OK_RATE:
        context = _INCIDENT_CONTEXT_TOKENS if effects.cost else session.app.context_tokens
        _set_tokens(rng, event, context, output_tokens, clamp_input=not effects.cost)
    return _latency_s(rng, model, output_tokens)


def _set_tokens(
    rng: random.Random,
    event: events_pb2.TraceEvent,
    context: tuple[int, int],
    output_tokens: int,
    clamp_input: bool = True,
) -> None:
    chars = sum(len(m.content) + 16 for m in event.prompt)
    unlogged = rng.randint(*context)
    input_tokens = text_tokens(rng, chars) + unlogged
    input_tokens = int(clamp(input_tokens, 50, 4000)) if clamp_input else max(50, input_tokens)
    event.input_tokens = input_tokens
    event.output_tokens = output_tokens
    if event.provider in ("openai", "anthropic") and input_tokens >= 1024 and rng.random() < 0.5:
        event.cached_input_tokens = int(input_tokens * rng.uniform(0.3, 0.8)) // 64 * 64


def _fill_error(rng: random.Random, event: events_pb2.TraceEvent, session: Session) -> float:
    """Set the error fields (no completion, no tokens); return the latency in seconds."""
    error_type, _, (low, high) = rng.choices(_ERRORS, weights=[e[1] for e in _ERRORS])[0]
    event.status = events_pb2.TRACE_STATUS_ERROR
    event.error_type = error_type
    event.error_message = error_message(rng, error_type, session.model)
    return rng.uniform(low, high)


def take_turn(
    rng: random.Random, session: Session, end: datetime, effects: Effects | None = None
) -> events_pb2.TraceEvent:
    """The event of the session's next turn, ending at ``end``, under ``effects``."""
    effects = effects or Effects()
    text = user_message(rng, session.app, session.turn, effects.input_drift)
    event = _skeleton(rng, session, text)
    if rng.random() < _ERROR_RATE:
        latency = _fill_error(rng, event, session)
    else:
        latency = _fill_ok(rng, event, session, effects)
    event.start_time.FromDatetime(end - timedelta(seconds=latency))
    event.end_time.FromDatetime(end)
    return event


def advance(session: Session, event: events_pb2.TraceEvent) -> bool:
    """Record the turn in the conversation; return False when the conversation is over."""
    session.history.append(events_pb2.Message(role="user", content=event.prompt[-1].content))
    session.history.append(events_pb2.Message(role="assistant", content=event.completion))
    session.turn += 1
    session.turns_left -= 1
    return session.turns_left > 0 and event.status != events_pb2.TRACE_STATUS_ERROR


def _latency_s(rng: random.Random, model: ModelSpec, output_tokens: int) -> float:
    first_token = rng.lognormvariate(math.log(model.first_token_s), 0.5)
    generation = output_tokens / model.tokens_per_s * rng.lognormvariate(0.0, 0.25)
    return clamp(first_token + generation, _MIN_LATENCY_S, _MAX_LATENCY_S)

