"""Token counts of a trace: the reported ones, else an offline estimate.

Contract: `token_counts(event)` is pure. A count the app reported (not None)
is used as is (negative values are clamped to 0); a missing input count is
estimated from the prompt messages and a missing output count from the
completion, and then `estimated` is True. A missing cached count is 0 (not
an estimate: most providers report it only when caching happened). Cached
tokens are part of the input tokens, so they are clamped to the input count.

`estimate_text_tokens` is a heuristic, not a tokenizer (none is available
offline). BPE tokenizers give about 4 characters per token for English,
about 1 token per CJK ideograph, Hangul syllable or kana, and fewer
characters per token for other scripts. So the estimate weighs ASCII
characters 1/4, wide characters (CJK, Hangul, kana, full-width forms) and
characters outside the BMP (emoji) 1, other characters (accented latin,
Cyrillic, Greek, Arabic, Hebrew, ...) 1/2, rounds up, and never returns
fewer than the number of whitespace-separated words. Expect +-25% against
a real tokenizer on prose; code and digit-heavy text run a bit over.
"""

from __future__ import annotations

import math
import re

from vigil.events import TokenCounts, TraceEvent

TOKENS_PER_MESSAGE = 4  # role and message delimiters, per message (OpenAI's chat format)

_WIDE = re.compile(
    "["
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    "\u3200-\u4dbf"  # enclosed CJK, CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended-A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended-B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # half-width and full-width forms
    "\U00010000-\U0010ffff"  # outside the BMP: emoji, CJK extensions B+
    "]+"
)


def estimate_text_tokens(text: str) -> int:
    """Estimated token count of `text` (see the module docstring); 0 for ""."""
    if not text:
        return 0
    words = len(text.split())
    if text.isascii():
        return max(words, math.ceil(len(text) / 4))
    ascii_chars = len(text.encode("ascii", "ignore"))
    wide = sum(len(run) for run in _WIDE.findall(text))
    other = len(text) - ascii_chars - wide
    return max(words, math.ceil(ascii_chars / 4 + other / 2 + wide))


def token_counts(event: TraceEvent) -> TokenCounts:
    """Reported token counts of `event`, with the missing input/output counts estimated."""
    estimated = False
    input_tokens = event.input_tokens
    if input_tokens is None:
        estimated = True
        input_tokens = sum(
            estimate_text_tokens(m.content) + TOKENS_PER_MESSAGE
            + sum(estimate_text_tokens(c.name + c.arguments) for c in m.tool_calls)
            for m in event.prompt
        )
    output_tokens = event.output_tokens
    if output_tokens is None:
        estimated = True
        output_tokens = estimate_text_tokens(event.completion) + sum(
            estimate_text_tokens(c.name + c.arguments) for c in event.completion_tool_calls)
    input_tokens = max(input_tokens, 0)
    cached = min(max(event.cached_input_tokens or 0, 0), input_tokens)
    return TokenCounts(
        input_tokens=input_tokens,
        output_tokens=max(output_tokens, 0),
        cached_input_tokens=cached,
        estimated=estimated,
    )
