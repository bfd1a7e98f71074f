"""What the demo world is made of: model, prompt template and app specs, the models
(openai, anthropic, google and the unpriced fine-tune ``acme-support-ft-v3``), and the
prompt versions users like less; each model's share of weak answers, so judge scores differ
by slice. The apps themselves are in ``vigil.demo.apps``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: str
    name: str
    first_token_s: float  # median time to first token
    tokens_per_s: float
    context_window: int
    stop_reason: str
    length_reason: str
    weak_rate: float  # share of answers that are weak (evasive, refusing, off-language)


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
        ModelSpec("openai", "gpt-4o", 0.6, 80, 128_000, "stop", "length", 0.03),
        ModelSpec("openai", "gpt-4o-mini", 0.4, 110, 128_000, "stop", "length", 0.08),
        ModelSpec("anthropic", "claude-3-5-sonnet", 0.9, 70, 200_000, "end_turn", "max_tokens",
                  0.02),
        ModelSpec("anthropic", "claude-3-5-haiku", 0.5, 120, 200_000, "end_turn", "max_tokens",
                  0.06),
        ModelSpec("google", "gemini-1.5-flash", 0.35, 180, 1_048_576, "STOP", "MAX_TOKENS", 0.15),
        ModelSpec("acme", "acme-support-ft-v3", 0.3, 60, 16_384, "stop", "length", 0.2),
    )
}

# Prompt versions users like less; feedback_for gives them more thumbs down, and their
# answers are weak more often (by WORSE_VERSION_WEAK_RATE).
WORSE_VERSIONS = frozenset({("support-answer", "v3")})
WORSE_VERSION_WEAK_RATE = 0.15
# During a quality incident (vigil.demo.schedule) most answers of the slice are weak.
INCIDENT_WEAK_RATE = 0.85
