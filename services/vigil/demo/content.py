"""The text and ids of the demo's calls, drawn from the caller's ``random.Random``: user
messages (about 3% carrying PII: email, phone, Luhn-valid card, ``sk-`` key), answers,
error messages, token estimates."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence

from vigil.demo.catalog import AppSpec, ModelSpec, TemplateSpec
from vigil.demo.degraded import drifted_document

_PII_RATE = 0.03
_FIRST_NAMES = ("jane", "omar", "li", "maria", "tom", "priya", "lukas", "ana")
_LAST_NAMES = ("doe", "haddad", "wei", "garcia", "baker", "iyer", "schmidt", "silva")
_MAIL_DOMAINS = ("gmail.com", "outlook.com", "example.org", "acme-corp.com")
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


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[w for _, w in weighted])[0]


def hex_id(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def uuid4(rng: random.Random) -> str:
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


def user_message(rng: random.Random, app: AppSpec, turn: int, drifted: bool = False) -> str:
    """The user's message of a turn; ``drifted``: the document is a long legal contract."""
    text = rng.choice(app.openers if turn == 0 else app.follow_ups)
    if "{doc}" in text:
        if drifted:
            doc = drifted_document(rng)
        else:
            doc = " ".join(_ordered_sample(rng, _DOC_SENTENCES, rng.randint(4, 10)))
        text = text.replace("{doc}", doc)
    return f"{text} {_pii(rng)}" if rng.random() < _PII_RATE else text


def completion_text(rng: random.Random, app: AppSpec, template: TemplateSpec) -> str:
    sentences = _ordered_sample(rng, app.answers, 1 + min(8, int(rng.expovariate(0.35))))
    if template.response_format == "json_object":
        return json.dumps({"summary": sentences[0], "key_points": sentences[1:]})
    return "\n\n".join(sentences) if app.name == "sales-email-writer" else " ".join(sentences)


def text_tokens(rng: random.Random, chars: int) -> int:
    return round(chars / 4 * rng.uniform(0.9, 1.15))


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def error_message(rng: random.Random, error_type: str, model: ModelSpec) -> str:
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
