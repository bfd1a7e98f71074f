"""How to reach the judge endpoint, and the limits of retries, concurrency and the
circuit breaker (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LlmJudgeConfig:
    base_url: str  # e.g. "https://api.openai.com/v1"
    model: str
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30
    max_retries: int = 3
    concurrency: int = 8
    breaker_failures: int = 5
    breaker_cooldown_s: float = 10
    provider: str = ""  # for pricing ("" lets genai-prices infer it from the model)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0
    max_part_chars: int = 8000  # each message, the context and the answer are clipped to this

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.model:
            raise ValueError("model is required")
        if self.timeout_s <= 0 or self.max_retries < 0 or self.concurrency < 1:
            raise ValueError("need timeout_s > 0, max_retries >= 0, concurrency >= 1")
        if self.breaker_failures < 1 or self.breaker_cooldown_s < 0:
            raise ValueError("need breaker_failures >= 1, breaker_cooldown_s >= 0")
        if self.backoff_initial_s < 0 or self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("need 0 <= backoff_initial_s <= backoff_max_s")
