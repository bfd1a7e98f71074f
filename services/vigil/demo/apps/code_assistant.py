"""The code assistant: code chat and code review, some answers long."""

from __future__ import annotations

from vigil.demo.catalog import AppSpec, TemplateSpec

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

CODE_ASSISTANT = AppSpec(
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
)
