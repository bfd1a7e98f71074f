"""Token counts: reported counts win, missing ones are estimated and flagged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil.enrich.tokens import TOKENS_PER_MESSAGE, estimate_text_tokens, token_counts
from vigil.events import ChatMessage, TokenCounts, TraceEvent

T0 = datetime(2026, 5, 21, 12, 0, tzinfo=UTC)
PROMPT = [ChatMessage("system", "You are a helpful assistant."),
          ChatMessage("user", "What is the capital of France?")]
COMPLETION = "The capital of France is Paris."


def trace(**fields: object) -> TraceEvent:
    event = TraceEvent(event_id="e1", trace_id="t1", project_id="p1", app="app", start_time=T0,
                       end_time=T0, model="gpt-4o", provider="openai", prompt=PROMPT,
                       completion=COMPLETION)
    for name, value in fields.items():
        setattr(event, name, value)
    return event


def prompt_estimate(prompt: list[ChatMessage]) -> int:
    return sum(estimate_text_tokens(m.content) + TOKENS_PER_MESSAGE for m in prompt)


@pytest.mark.parametrize(("text", "low", "high"), [
    ("", 0, 0),
    ("a", 1, 1),
    ("hello", 1, 2),
    ("The quick brown fox jumps over the lazy dog.", 9, 13),  # 10 with cl100k
    ("a b c d e f g h", 8, 8),  # never fewer tokens than words
    ("你好\uff0c世界", 5, 5),  # about one token per CJK character
    ("こんにちは", 5, 5),  # kana
    ("안녕하세요", 5, 5),  # Hangul
    ("😀🎉🚀", 3, 3),  # emoji: one each at least
    ("Привет, как дела?", 7, 10),  # Cyrillic: ~2 characters per token
    ("مرحبا بالعالم", 6, 8),  # Arabic (RTL)
    ("שלום עולם", 4, 6),  # Hebrew (RTL)
    ("def f(x):\n    return x * 2\n", 6, 10),
    ("x" * 4_000, 1_000, 1_000),
])
def test_estimate_text_tokens(text: str, low: int, high: int) -> None:
    assert low <= estimate_text_tokens(text) <= high


@pytest.mark.parametrize("text", [
    "ascii " * 1_000_000,
    "你好世界😀 " * 1_000_000,
    "é" * 5_000_000,
])
def test_estimate_huge_text(text: str) -> None:
    n = estimate_text_tokens(text)
    assert len(text) // 4 <= n <= len(text)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"input_tokens": 120, "output_tokens": 30, "cached_input_tokens": 40},
     TokenCounts(120, 30, 40, estimated=False)),
    ({"input_tokens": 120, "output_tokens": 30},  # cached not reported: 0, not an estimate
     TokenCounts(120, 30, 0, estimated=False)),
    ({"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0},
     TokenCounts(0, 0, 0, estimated=False)),
    ({"input_tokens": 100, "output_tokens": 5, "cached_input_tokens": 500},  # clamped to input
     TokenCounts(100, 5, 100, estimated=False)),
    ({"input_tokens": -3, "output_tokens": -1, "cached_input_tokens": -2},  # garbage: 0
     TokenCounts(0, 0, 0, estimated=False)),
    ({"input_tokens": None, "output_tokens": 30},
     TokenCounts(prompt_estimate(PROMPT), 30, 0, estimated=True)),
    ({"input_tokens": 120, "output_tokens": None, "cached_input_tokens": 20},
     TokenCounts(120, estimate_text_tokens(COMPLETION), 20, estimated=True)),
    ({"input_tokens": None, "output_tokens": None, "cached_input_tokens": 10_000},
     TokenCounts(prompt_estimate(PROMPT), estimate_text_tokens(COMPLETION),
                 prompt_estimate(PROMPT), estimated=True)),
    ({"prompt": [], "completion": "", "input_tokens": None, "output_tokens": None},
     TokenCounts(0, 0, 0, estimated=True)),
])
def test_token_counts(fields: dict[str, object], expected: TokenCounts) -> None:
    assert token_counts(trace(**fields)) == expected


def test_estimated_input_counts_each_message_overhead() -> None:
    prompt = [ChatMessage("user", ""), ChatMessage("assistant", ""), ChatMessage("user", "")]
    counts = token_counts(trace(prompt=prompt, input_tokens=None, output_tokens=1))
    assert counts.input_tokens == 3 * TOKENS_PER_MESSAGE


def test_estimate_grows_with_the_prompt() -> None:
    short = token_counts(trace(input_tokens=None))
    question = ChatMessage("user", "And of Japan? 日本の首都は?")
    longer = token_counts(trace(input_tokens=None, prompt=[*PROMPT, question]))
    assert longer.input_tokens > short.input_tokens
