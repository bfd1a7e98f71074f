"""Demo traffic: a small seeded world of LLM apps, and the adapter that sends it to ingest.

Contract
- Pure part. ``DemoWorld(seed)`` holds four apps (support-bot, code-assistant,
  doc-summarizer, sales-email-writer), their environments, models (openai,
  anthropic, google and the unpriced fine-tune ``acme-support-ft-v3``), prompt
  templates with 2-3 versions, 200 users and a pool of open conversations. Every
  draw comes from one ``random.Random``: the same seed and the same sequence of
  calls give byte-identical events. No clock, no I/O, no global random state.
  ``next_events(n, now)`` returns ``n`` valid ``vigil.v1.TraceEvent`` protos:
  event, trace and span ids set, ``start_time <= end_time``, ``end_time`` within
  the minute before ``now`` and increasing in list order. A conversation's later
  turns carry its earlier messages in the prompt; an error ends it. Latency is
  log-normal per model (0.3-20 s, longer with more output); about 3% of events
  are errors (tokens unset, empty completion, mostly fast; a Timeout takes the
  SDK's 10 s). About 10% of events have no token counts at all; reported input
  counts include app context that is not logged in the prompt (retrieved
  articles, tool schemas). About 3% of user messages carry PII (email, phone,
  Luhn-valid card, ``sk-`` key).
  ``feedback_for(events, now)`` returns feedback for about 5% of the events,
  worse for errors and for the weak prompt versions in ``WORSE_VERSIONS``.
  ``now`` should be timezone-aware (UTC); a naive ``now`` is read as UTC.
- Adapter. ``run_demo`` sends about ``rate`` events per second over
  ``grpc.aio.insecure_channel(target)``: a batch every 100-200 ms, alternating
  EmitBatch and EmitStream (2-3 messages), every tenth batch as single Emit
  calls, then SubmitFeedback for that batch's feedback. Each call has a 10 s
  deadline. UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are retried
  with the same event ids (the server dedups) after a jittered backoff doubling
  up to 5 s; other errors count the events as rejected, except UNAUTHENTICATED
  and PERMISSION_DENIED, which raise (a wrong key is a setup bug). It stops when
  ``duration_s`` has passed or ``stop`` is set; events abandoned during a
  backoff at that moment count as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import grpc

from vigil_protos.v1 import events_pb2, ingest_pb2, ingest_pb2_grpc

# --- catalog ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: str
    name: str
    first_token_s: float  # median time to first token
    tokens_per_s: float
    context_window: int
    stop_reason: str
    length_reason: str


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    template_id: str
    system: str
    version_weights: tuple[float, ...]  # traffic share of v1, v2, ...
    temperature: float
    response_format: str = ""


@dataclass(frozen=True, slots=True)
class AppSpec:
    name: str
    weight: float
    environments: tuple[tuple[str, float], ...]
    models: tuple[tuple[str, float], ...]
    templates: tuple[TemplateSpec, ...]
    max_turns: int
    max_tokens: tuple[int, ...]
    context_tokens: tuple[int, int]  # counted by the provider, not logged: articles, tools
    openers: tuple[str, ...]
    follow_ups: tuple[str, ...]
    answers: tuple[str, ...]
    sdk: str


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec("openai", "gpt-4o", 0.6, 80, 128_000, "stop", "length"),
        ModelSpec("openai", "gpt-4o-mini", 0.4, 110, 128_000, "stop", "length"),
        ModelSpec("anthropic", "claude-3-5-sonnet", 0.9, 70, 200_000, "end_turn", "max_tokens"),
        ModelSpec("anthropic", "claude-3-5-haiku", 0.5, 120, 200_000, "end_turn", "max_tokens"),
        ModelSpec("google", "gemini-1.5-flash", 0.35, 180, 1_048_576, "STOP", "MAX_TOKENS"),
        ModelSpec("acme", "acme-support-ft-v3", 0.3, 60, 16_384, "stop", "length"),
    )
}

_VERSION_HINTS = (
    "",
    "\nKeep the answer under 150 words.",
    "\nThink step by step and always end with a follow-up question.",
)
_DOC_SENTENCES = (
    "Q3 revenue grew 12% year over year, driven mainly by the enterprise segment.",
    "Churn in the SMB segment increased to 3.1% after the price change in July.",
    "The team agreed to postpone the EU data center migration to Q1.",
    "Support ticket volume fell 18% after the new onboarding flow launched.",
    "Marketing spend was 9% under budget because two events were cancelled.",
    "Engineering headcount will grow by six people, mostly in platform and security.",
    "The board asked for a revised forecast that accounts for currency effects.",
    "Customer satisfaction remained stable at 4.4 out of 5.",
    "Legal flagged two vendor contracts that renew automatically in November.",
    "The pilot with the logistics partner cut delivery times by a day on average.",
)

_LONG_CODE_ANSWER = """Here is a complete version with a test:

```python
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def with_timeout(make: Callable[[], Awaitable[T]], seconds: float, retries: int = 2) -> T:
    # Retry on timeout up to `retries` times, with a short backoff.
    last: TimeoutError | None = None
    for attempt in range(retries + 1):
        try:
            return await asyncio.wait_for(make(), timeout=seconds)
        except TimeoutError as err:
            last = err
            await asyncio.sleep(0.1 * 2**attempt)
    assert last is not None
    raise last


async def test_with_timeout_gives_up() -> None:
    async def slow() -> int:
        await asyncio.sleep(10)
        return 1

    try:
        await with_timeout(slow, 0.01, retries=1)
    except TimeoutError:
        pass
    else:
        raise AssertionError("expected a timeout")
```

The backoff doubles between attempts, and the original TimeoutError is re-raised at the end."""

APPS: tuple[AppSpec, ...] = (
    AppSpec(
        name="support-bot",
        weight=0.4,
        environments=(("production", 0.85), ("staging", 0.15)),
        models=(("gpt-4o-mini", 0.4), ("claude-3-5-haiku", 0.25), ("acme-support-ft-v3", 0.35)),
        templates=(
            TemplateSpec(
                "support-answer",
                "You are Acme's friendly support assistant. Answer from the help center "
                "articles provided. Never ask for full card numbers or passwords.",
                (0.15, 0.6, 0.25),
                0.3,
            ),
            TemplateSpec(
                "support-escalation",
                "Decide whether the conversation needs a human agent and write a short "
                "hand-over note for the agent.",
                (0.4, 0.6),
                0.0,
            ),
        ),
        max_turns=8,
        max_tokens=(128, 256, 512),
        context_tokens=(150, 2500),
        openers=(
            "How do I reset my password? The reset link in the email has expired.",
            "I was charged twice for my subscription this month.",
            "Can I change the billing address on my invoice?",
            "The mobile app logs me out every few minutes.",
            "How do I export all my data as CSV?",
            "Is there a way to add a second admin to our workspace?",
            "My order #48213 still shows as processing after five days.",
            "How do I cancel my plan before the renewal date?",
        ),
        follow_ups=(
            "That didn't work, I still get the same error.",
            "Thanks. And how long does the refund take?",
            "Can you escalate this to a human agent?",
            "OK, where do I find that setting on Android?",
            "Got it, does this also apply to the team plan?",
        ),
        answers=(
            "I'm sorry for the trouble.",
            "You can reset your password from Settings > Security > Reset password.",
            "Reset links expire after 24 hours, so please request a new one.",
            "I can see two charges on the same day in your billing history.",
            "Duplicate charges are refunded automatically within 5-7 business days.",
            "To change the billing address, open Billing > Invoices and click Edit details.",
            "Exports live under Settings > Data > Export and may take a few minutes.",
            "Only workspace owners can add admins; ask your owner to change your role.",
            "If the problem persists, I can open a ticket with our support team.",
            "Is there anything else I can help you with?",
        ),
        sdk="vigil-python/0.1.0",
    ),
    AppSpec(
        name="code-assistant",
        weight=0.25,
        environments=(("production", 0.75), ("staging", 0.25)),
        models=(("gpt-4o", 0.4), ("claude-3-5-sonnet", 0.6)),
        templates=(
            TemplateSpec(
                "code-chat",
                "You are a senior software engineer. Answer with working code and a "
                "brief explanation. Prefer the standard library.",
                (0.2, 0.3, 0.5),
                0.2,
            ),
            TemplateSpec(
                "code-review",
                "Review the snippet for bugs, security issues and readability. "
                "List findings by severity.",
                (0.5, 0.5),
                0.1,
            ),
        ),
        max_turns=6,
        max_tokens=(256, 1024, 2048),
        context_tokens=(300, 3000),
        openers=(
            "Why does this raise KeyError?\n\n```python\ncounts = {}\nfor w in words:\n"
            "    counts[w] += 1\n```",
            "Write a SQL query that returns the top 5 customers by revenue in 2024.",
            "How do I make an async function time out after 3 seconds in Python?",
            "Convert this callback-based Node.js function to async/await.",
            "What's the difference between a list and a tuple in Python, performance-wise?",
            "Explain this regex: ^(?=.*\\d)(?=.*[a-z]).{8,}$",
            "My Docker build is slow because pip reinstalls everything. How do I cache it?",
        ),
        follow_ups=(
            "Can you add type hints?",
            "Now write a unit test for it.",
            "It still fails on an empty list.",
            "Can you make it work on Python 3.8 too?",
        ),
        answers=(
            "The error happens because the key does not exist yet when you increment it.",
            "Use collections.Counter instead:\n\n```python\nfrom collections import Counter\n"
            "counts = Counter(words)\n```",
            "Wrap the call in asyncio.wait_for(coro, timeout=3) and catch TimeoutError.",
            "```sql\nSELECT customer_id, SUM(amount) AS revenue\nFROM orders\n"
            "WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'\n"
            "GROUP BY customer_id\nORDER BY revenue DESC\nLIMIT 5;\n```",
            "Copy requirements.txt and install it before copying the rest of the source, "
            "so Docker can reuse the layer.",
            "Tuples are immutable and slightly smaller, but iteration speed is about the same.",
            "Here is a version with type hints and a docstring.",
            "Note that this assumes the input is already sorted.",
            "Let me know if you want me to add error handling.",
            _LONG_CODE_ANSWER,
        ),
        sdk="vigil-js/0.3.2",
    ),
    AppSpec(
        name="doc-summarizer",
        weight=0.2,
        environments=(("production", 0.9), ("staging", 0.1)),
        models=(("gemini-1.5-flash", 0.6), ("gpt-4o-mini", 0.4)),
        templates=(
            TemplateSpec(
                "summarize",
                "Summarize documents faithfully. Do not add facts that are not in the text.",
                (0.3, 0.7),
                0.0,
            ),
            TemplateSpec(
                "extract-key-points",
                'Return JSON with keys "summary" (string) and "key_points" (list of strings).',
                (0.5, 0.5),
                0.0,
                "json_object",
            ),
        ),
        max_turns=3,
        max_tokens=(512, 1024),
        context_tokens=(400, 3200),
        openers=(
            "Summarize the following document in three sentences:\n\n{doc}",
            "Extract the key points from this meeting transcript:\n\n{doc}",
            "Give me a TL;DR of this report for an executive audience:\n\n{doc}",
        ),
        follow_ups=(
            "Make it shorter.",
            "What are the action items and their owners?",
            "Which of these points are risks?",
        ),
        answers=(
            "Revenue grew 12% year over year, led by enterprise customers.",
            "SMB churn rose after the July price change.",
            "The EU migration moves to Q1.",
            "Support volume dropped thanks to the new onboarding flow.",
            "Finance revises the forecast; Legal reviews the auto-renewing contracts.",
            "Overall the quarter was solid, with churn as the main risk.",
        ),
        sdk="vigil-python/0.1.0",
    ),
    AppSpec(
        name="sales-email-writer",
        weight=0.15,
        environments=(("production", 0.8), ("staging", 0.2)),
        models=(("gpt-4o", 0.5), ("claude-3-5-haiku", 0.3), ("gemini-1.5-flash", 0.2)),
        templates=(
            TemplateSpec(
                "cold-outreach",
                "You write concise, friendly B2B sales emails. No buzzwords, one call to action.",
                (0.2, 0.3, 0.5),
                0.8,
            ),
            TemplateSpec(
                "follow-up",
                "Write a short, polite follow-up email that adds one new piece of value.",
                (0.6, 0.4),
                0.7,
            ),
        ),
        max_turns=3,
        max_tokens=(512,),
        context_tokens=(100, 600),
        openers=(
            "Write a cold email to the VP of Operations at a mid-size logistics company "
            "about our route optimization tool.",
            "Draft a follow-up email for a prospect who went quiet after the demo.",
            "Write a short LinkedIn message to a CTO who just raised a Series B.",
            "Rewrite this to sound less pushy: 'Just checking in again to see if you had "
            "time to review my proposal.'",
        ),
        follow_ups=(
            "Make it shorter and add a clear call to action.",
            "Use a more casual tone.",
            "Add a line about our SOC 2 certification.",
        ),
        answers=(
            "Subject: Cutting last-mile costs by 15%",
            "Hi Sarah,",
            "I noticed your team recently expanded to three new regions, congratulations.",
            "Fleets like yours typically save 10-15% on fuel in the first quarter with us.",
            "We are SOC 2 Type II certified, so security reviews are quick.",
            "Would you be open to a 20-minute call next Tuesday or Wednesday?",
            "Happy to share a short case study from a similar fleet.",
            "Best regards,\nAlex",
        ),
        sdk="vigil-js/0.3.2",
    ),
)

# Prompt versions users like less; feedback_for gives them more thumbs down.
WORSE_VERSIONS = frozenset({("support-answer", "v3")})

# --- world parameters --------------------------------------------------------------------

_USER_COUNT = 200
_OPEN_SESSIONS = 24
_REGIONS = (("us-east-1", 0.5), ("eu-west-1", 0.35), ("ap-southeast-2", 0.15))
_APP_VERSIONS = ("2024.11.2", "2024.11.3")
_ERROR_RATE = 0.03
_UNSET_TOKENS_OK_RATE = 0.072  # errors never report tokens: 3% + 97% * 7.2% ~ 10%
_PII_RATE = 0.03
_FEEDBACK_RATE = 0.05
_MAX_SPREAD_S = 45.0
_SPREAD_PER_EVENT_S = 0.02
_MIN_LATENCY_S, _MAX_LATENCY_S = 0.3, 20.0
_ERRORS = (  # error_type, weight, (min, max) seconds before the client saw it
    ("RateLimitError", 5, (0.05, 0.4)),
    ("Timeout", 3, (10.0, 10.0)),
    ("ContextLengthExceeded", 1, (0.1, 0.5)),
    ("InternalServerError", 1, (0.3, 3.0)),
)
_PRAISE = ("Perfect, thanks!", "Exactly what I needed.", "Clear and quick.", "Saved me an hour.")
_COMPLAINTS = (
    "This didn't answer my question.",
    "Too long, I just wanted the steps.",
    "The link it gave me doesn't exist.",
    "Wrong, that setting is not on that page.",
    "It made up a number that isn't in the document.",
)
_FIRST_NAMES = ("jane", "omar", "li", "maria", "tom", "priya", "lukas", "ana")
_LAST_NAMES = ("doe", "haddad", "wei", "garcia", "baker", "iyer", "schmidt", "silva")
_MAIL_DOMAINS = ("gmail.com", "outlook.com", "example.org", "acme-corp.com")


# --- pure helpers ------------------------------------------------------------------------


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[w for _, w in weighted])[0]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit to the right
        doubled = d * 2 if i % 2 == 0 else d
        total += doubled - 9 if doubled > 9 else doubled
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def _pii(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        email = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}@{rng.choice(_MAIL_DOMAINS)}"
        return f"You can reach me at {email}."
    if kind == 1:
        return f"Call me back on +1 ({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}."
    if kind == 2:
        return f"My card {_luhn_card(rng)} was charged, is that right?"
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    key = "".join(rng.choice(alphabet) for _ in range(40))
    return f"Here is my key sk-proj-{key}, why does it fail?"


def _ordered_sample(rng: random.Random, pool: Sequence[str], k: int) -> list[str]:
    picks = sorted(rng.sample(range(len(pool)), min(k, len(pool))))
    return [pool[i] for i in picks]


def _user_message(rng: random.Random, app: AppSpec, turn: int) -> str:
    text = rng.choice(app.openers if turn == 0 else app.follow_ups)
    if "{doc}" in text:
        doc = " ".join(_ordered_sample(rng, _DOC_SENTENCES, rng.randint(4, 10)))
        text = text.replace("{doc}", doc)
    return f"{text} {_pii(rng)}" if rng.random() < _PII_RATE else text


def _completion(rng: random.Random, app: AppSpec, template: TemplateSpec) -> str:
    sentences = _ordered_sample(rng, app.answers, 1 + min(8, int(rng.expovariate(0.35))))
    if template.response_format == "json_object":
        return json.dumps({"summary": sentences[0], "key_points": sentences[1:]})
    return "\n\n".join(sentences) if app.name == "sales-email-writer" else " ".join(sentences)


def _text_tokens(rng: random.Random, chars: int) -> int:
    return round(chars / 4 * rng.uniform(0.9, 1.15))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _latency_s(rng: random.Random, model: ModelSpec, output_tokens: int) -> float:
    first_token = rng.lognormvariate(math.log(model.first_token_s), 0.5)
    generation = output_tokens / model.tokens_per_s * rng.lognormvariate(0.0, 0.25)
    return _clamp(first_token + generation, _MIN_LATENCY_S, _MAX_LATENCY_S)


def _end_times(rng: random.Random, n: int, now: datetime) -> list[datetime]:
    spread = min(_MAX_SPREAD_S, n * _SPREAD_PER_EVENT_S)
    offsets = sorted((rng.uniform(0.0, spread) for _ in range(n)), reverse=True)
    return [now - timedelta(seconds=offset) for offset in offsets]


def _error_message(rng: random.Random, error_type: str, model: ModelSpec) -> str:
    if error_type == "RateLimitError":
        return (
            f"Rate limit reached for {model.name} on tokens per min (TPM): Limit 30000, "
            f"Used {rng.randint(28_500, 29_990)}, Requested {rng.randint(600, 4000)}."
        )
    if error_type == "Timeout":
        return "Request timed out after 10.0 seconds."
    if error_type == "ContextLengthExceeded":
        asked = model.context_window + rng.randint(1, 20_000)
        return (
            f"This model's maximum context length is {model.context_window} tokens. "
            f"However, your messages resulted in {asked} tokens."
        )
    return "The server had an error while processing your request. Please retry."


# --- the world ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _User:
    user_id: str
    region: str


@dataclass(slots=True)
class _Session:
    session_id: str
    user: _User
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


def _new_session(rng: random.Random, users: Sequence[_User]) -> _Session:
    app = rng.choices(APPS, weights=[a.weight for a in APPS])[0]
    template = rng.choice(app.templates)
    versions = [f"v{i + 1}" for i in range(len(template.version_weights))]
    return _Session(
        session_id=f"sess_{_hex(rng, 16)}",
        user=rng.choice(users),
        app=app,
        environment=_pick(rng, app.environments),
        model=MODELS[_pick(rng, app.models)],
        template=template,
        version=rng.choices(versions, weights=template.version_weights)[0],
        max_tokens=rng.choice(app.max_tokens),
        turns_left=1 + min(app.max_turns - 1, int(rng.expovariate(1 / 1.6))),
        app_version=rng.choice(_APP_VERSIONS),
    )


def _system_prompt(session: _Session) -> str:
    index = int(session.version.removeprefix("v")) - 1
    return session.template.system + _VERSION_HINTS[index % len(_VERSION_HINTS)]


def _skeleton(rng: random.Random, session: _Session, user_text: str) -> events_pb2.TraceEvent:
    system = events_pb2.Message(role="system", content=_system_prompt(session))
    user = events_pb2.Message(role="user", content=user_text)
    params = events_pb2.RequestParams(
        temperature=session.template.temperature,
        max_tokens=session.max_tokens,
        response_format=session.template.response_format,
    )
    return events_pb2.TraceEvent(
        event_id=_uuid4(rng),
        trace_id=_hex(rng, 32),
        span_id=_hex(rng, 16),
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


def _fill_ok(rng: random.Random, event: events_pb2.TraceEvent, session: _Session) -> float:
    """Set completion, finish reason and tokens; return the latency in seconds."""
    completion = _completion(rng, session.app, session.template)
    wanted = int(_clamp(_text_tokens(rng, len(completion)), 10, 1500))
    output_tokens = min(wanted, session.max_tokens)
    truncated = wanted > session.max_tokens
    if truncated:
        completion = completion[: len(completion) * output_tokens // wanted]
    model = session.model
    event.status = events_pb2.TRACE_STATUS_OK
    event.completion = completion
    event.finish_reason = model.length_reason if truncated else model.stop_reason
    if rng.random() >= _UNSET_TOKENS_OK_RATE:
        _set_tokens(rng, event, session.app.context_tokens, output_tokens)
    return _latency_s(rng, model, output_tokens)


def _set_tokens(
    rng: random.Random, event: events_pb2.TraceEvent, context: tuple[int, int], output_tokens: int
) -> None:
    chars = sum(len(m.content) + 16 for m in event.prompt)
    unlogged = rng.randint(*context)
    input_tokens = int(_clamp(_text_tokens(rng, chars) + unlogged, 50, 4000))
    event.input_tokens = input_tokens
    event.output_tokens = output_tokens
    if event.provider in ("openai", "anthropic") and input_tokens >= 1024 and rng.random() < 0.5:
        event.cached_input_tokens = int(input_tokens * rng.uniform(0.3, 0.8)) // 64 * 64


def _fill_error(rng: random.Random, event: events_pb2.TraceEvent, session: _Session) -> float:
    """Set the error fields (no completion, no tokens); return the latency in seconds."""
    error_type, _, (low, high) = rng.choices(_ERRORS, weights=[e[1] for e in _ERRORS])[0]
    event.status = events_pb2.TRACE_STATUS_ERROR
    event.error_type = error_type
    event.error_message = _error_message(rng, error_type, session.model)
    return rng.uniform(low, high)


def _turn(rng: random.Random, session: _Session, end: datetime) -> events_pb2.TraceEvent:
    event = _skeleton(rng, session, _user_message(rng, session.app, session.turn))
    failed = rng.random() < _ERROR_RATE
    latency = _fill_error(rng, event, session) if failed else _fill_ok(rng, event, session)
    event.start_time.FromDatetime(end - timedelta(seconds=latency))
    event.end_time.FromDatetime(end)
    return event


def _advance(session: _Session, event: events_pb2.TraceEvent) -> bool:
    """Record the turn in the conversation; return False when the conversation is over."""
    session.history.append(events_pb2.Message(role="user", content=event.prompt[-1].content))
    session.history.append(events_pb2.Message(role="assistant", content=event.completion))
    session.turn += 1
    session.turns_left -= 1
    return session.turns_left > 0 and event.status != events_pb2.TRACE_STATUS_ERROR


def _feedback(
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
        value = round(_clamp(rng.gauss(p_up, 0.15), 0.0, 1.0), 2)
    elif kind == events_pb2.FEEDBACK_KIND_TEXT:
        value = 0.0
    if kind == events_pb2.FEEDBACK_KIND_TEXT or rng.random() < 0.2:
        comment = rng.choice(_PRAISE if liked else _COMPLAINTS)
    given_at = event.end_time.ToDatetime(tzinfo=now.tzinfo) + timedelta(seconds=rng.uniform(3, 90))
    return events_pb2.FeedbackEvent(
        feedback_id=_uuid4(rng),
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


class DemoWorld:
    """Seeded apps, users and open conversations; produces trace and feedback protos."""

    def __init__(self, seed: int | random.Random = 7) -> None:
        self._rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self._users = [
            _User(f"user_{_hex(self._rng, 8)}", _pick(self._rng, _REGIONS))
            for _ in range(_USER_COUNT)
        ]
        self._open: list[_Session] = []

    def next_events(self, n: int, now: datetime) -> list[events_pb2.TraceEvent]:
        """Return n events ending in the minute before ``now``, in time order."""
        return [self._next_event(end) for end in _end_times(self._rng, n, now)]

    def feedback_for(
        self, events: Sequence[events_pb2.TraceEvent], now: datetime
    ) -> list[events_pb2.FeedbackEvent]:
        """Return feedback for about 5% of ``events``, given no later than ``now``."""
        chosen = [e for e in events if self._rng.random() < _FEEDBACK_RATE]
        return [_feedback(self._rng, event, now) for event in chosen]

    def _next_event(self, end: datetime) -> events_pb2.TraceEvent:
        while len(self._open) < _OPEN_SESSIONS:
            self._open.append(_new_session(self._rng, self._users))
        session = self._rng.choice(self._open)
        event = _turn(self._rng, session, end)
        if not _advance(session, event):
            self._open.remove(session)
        return event


# --- adapter -----------------------------------------------------------------------------

_T = TypeVar("_T")
_LOG = logging.getLogger("vigil.demo")
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
_FATAL = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
_CALL_TIMEOUT_S = 10.0
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.2, 5.0
_TICK_MIN_S, _TICK_MAX_S = 0.1, 0.2
_MAX_CATCH_UP_S = 1.0
_REPORT_EVERY_S = 10.0


class DemoLogger(Protocol):
    """What run_demo needs of a logger (a logging.Logger or a structlog logger)."""

    def info(self, msg: str, /) -> object: ...

    def warning(self, msg: str, /) -> object: ...


@dataclass(slots=True)
class DemoStats:
    """Counts of one run. ``sent`` counts each event once, however often it was retried."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    retried: int = 0  # messages (events and feedback) re-sent after a transient error
    dropped: int = 0  # events abandoned in a backoff when the run stopped
    feedback_sent: int = 0
    feedback_accepted: int = 0
    feedback_rejected: int = 0


@dataclass(slots=True)
class _Halt:
    stop: asyncio.Event
    deadline: float | None  # time.monotonic() value

    def is_set(self) -> bool:
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True when the run should stop."""
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, seconds))
        return self.is_set()


@dataclass(slots=True)
class _Pacer:
    rate: float
    last: float | None = None
    carry: float = 0.0

    def due(self, now_s: float) -> int:
        elapsed = 0.0 if self.last is None else min(now_s - self.last, _MAX_CATCH_UP_S)
        self.last = now_s
        self.carry += self.rate * elapsed
        n = int(self.carry)
        self.carry -= n
        return n


def _split(
    events: Sequence[events_pb2.TraceEvent], parts: int
) -> list[list[events_pb2.TraceEvent]]:
    size = math.ceil(len(events) / max(1, min(parts, len(events))))
    return [list(events[i : i + size]) for i in range(0, len(events), size)]


def _mode(tick: int) -> str:
    if tick % 10 == 9:
        return "emit"
    return "batch" if tick % 2 == 0 else "stream"


@dataclass(slots=True)
class _Sender:
    stub: ingest_pb2_grpc.IngestServiceStub
    metadata: tuple[tuple[str, str], ...]
    stats: DemoStats
    halt: _Halt
    log: DemoLogger
    rng: random.Random

    async def retrying(self, call: Callable[[], Awaitable[_T]], n: int) -> _T | None:
        """Run ``call`` until it succeeds; None when the run stopped during a backoff."""
        delay = _BACKOFF_FIRST_S
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as err:
                if err.code() not in _TRANSIENT:
                    raise
                self.log.warning(f"demo: {err.code().name}, retrying {n} in {delay:.1f}s")
            if await self.halt.sleep(delay * self.rng.uniform(0.8, 1.2)):
                return None
            self.stats.retried += n
            delay = min(delay * 2, _BACKOFF_MAX_S)

    def permanent(self, err: grpc.aio.AioRpcError, what: str) -> None:
        if err.code() in _FATAL:
            raise err
        self.log.warning(f"demo: {what} rejected: {err.code().name} {err.details()}")

    def record(self, response: ingest_pb2.EmitBatchResponse | None, n: int) -> None:
        if response is None:
            self.stats.dropped += n
            return
        self.stats.accepted += response.accepted
        self.stats.rejected += response.rejected
        bad = next((r for r in response.results if r.code != 0), None)
        if bad is not None:
            self.log.warning(f"demo: {response.rejected} rejected, e.g. {bad.field}: {bad.reason}")

    async def send_events(self, events: list[events_pb2.TraceEvent], mode: str) -> None:
        self.stats.sent += len(events)
        if mode == "emit":
            for i, event in enumerate(events):
                if self.halt.is_set():
                    self.stats.dropped += len(events) - i
                    return
                await self.emit_one(event)
            return
        try:
            send = self.emit_stream if mode == "stream" else self.emit_batch
            self.record(await send(events), len(events))
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"{mode} of {len(events)} events")
            self.stats.rejected += len(events)

    async def emit_batch(
        self, events: list[events_pb2.TraceEvent]
    ) -> ingest_pb2.EmitBatchResponse | None:
        request = ingest_pb2.EmitBatchRequest(events=events)
        return await self.retrying(
            lambda: self.stub.EmitBatch(request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S),
            len(events),
        )

    async def emit_stream(
        self, events: list[events_pb2.TraceEvent]
    ) -> ingest_pb2.EmitBatchResponse | None:
        chunks = [
            ingest_pb2.EmitBatchRequest(events=c) for c in _split(events, self.rng.randint(2, 3))
        ]
        return await self.retrying(
            lambda: self.stub.EmitStream(
                iter(chunks), metadata=self.metadata, timeout=_CALL_TIMEOUT_S
            ),
            len(events),
        )

    async def emit_one(self, event: events_pb2.TraceEvent) -> None:
        request = ingest_pb2.EmitRequest(event=event)
        try:
            response = await self.retrying(
                lambda: self.stub.Emit(request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S), 1
            )
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"event {event.event_id}")
            self.stats.rejected += 1
            return
        if response is None:
            self.stats.dropped += 1
        else:
            self.stats.accepted += 1

    async def send_feedback(self, feedback: events_pb2.FeedbackEvent) -> None:
        self.stats.feedback_sent += 1
        request = ingest_pb2.SubmitFeedbackRequest(feedback=feedback)
        try:
            response = await self.retrying(
                lambda: self.stub.SubmitFeedback(
                    request, metadata=self.metadata, timeout=_CALL_TIMEOUT_S
                ),
                1,
            )
        except grpc.aio.AioRpcError as err:
            self.permanent(err, f"feedback for trace {feedback.trace_id}")
            self.stats.feedback_rejected += 1
            return
        if response is not None:
            self.stats.feedback_accepted += 1


async def _send_tick(world: DemoWorld, sender: _Sender, n: int, tick: int) -> None:
    now = datetime.now(UTC)
    events = world.next_events(n, now)
    await sender.send_events(events, _mode(tick))
    for feedback in world.feedback_for(events, now):
        if sender.halt.is_set():
            return
        await sender.send_feedback(feedback)


async def _pump(world: DemoWorld, sender: _Sender, rate: float) -> None:
    pacer, tick = _Pacer(rate), 0
    next_report = time.monotonic() + _REPORT_EVERY_S
    while not sender.halt.is_set():
        n = pacer.due(time.monotonic())
        if n:
            await _send_tick(world, sender, n, tick)
            tick += 1
        if time.monotonic() >= next_report:
            sender.log.info(f"demo: {sender.stats}")
            next_report += _REPORT_EVERY_S
        await sender.halt.sleep(sender.rng.uniform(_TICK_MIN_S, _TICK_MAX_S))


async def run_demo(
    target: str,
    api_key: str,
    rate: float,
    duration_s: float | None,
    stop: asyncio.Event | None = None,
    seed: int = 7,
    log: DemoLogger | None = None,
) -> DemoStats:
    """Send demo traffic to the IngestService at ``target`` until duration or ``stop``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    logger = log or _LOG
    deadline = None if duration_s is None else time.monotonic() + duration_s
    halt = _Halt(stop or asyncio.Event(), deadline)
    stats = DemoStats()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        metadata = (("authorization", f"Bearer {api_key}"),)
        sender = _Sender(stub, metadata, stats, halt, logger, random.Random(seed + 1))
        logger.info(f"demo: sending about {rate:g} events/s to {target}")
        await _pump(DemoWorld(seed), sender, rate)
    logger.info(f"demo: finished: {stats}")
    return stats
