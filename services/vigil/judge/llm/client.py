"""The LLM judge's HTTP client: one rubric, one endpoint; retries, backpressure while the
endpoint is down, a concurrency limit and a circuit breaker (see the package docstring).
What it sends is `prompt`'s, how it reads the reply is `reply`'s."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import httpx
import orjson

from vigil.core.prices import PriceBook
from vigil.events import TokenCounts
from vigil.judge.llm.breaker import CircuitBreaker
from vigil.judge.llm.config import LlmJudgeConfig
from vigil.judge.llm.prompt import request_body
from vigil.judge.llm.reply import Attempt, read_reply
from vigil.judge.model import JudgeInput, Judgment
from vigil.judge.rubric import Rubric
from vigil.runtime.logs import get_logger

log = get_logger(__name__)


class LlmJudge:
    """Judges traces with one rubric; see the module docstring."""

    def __init__(self, config: LlmJudgeConfig, rubric: Rubric, prices: PriceBook | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.config, self.rubric, self._prices = config, rubric, prices
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s),
            limits=httpx.Limits(max_connections=config.concurrency,
                                max_keepalive_connections=config.concurrency))
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._headers = {"content-type": "application/json"}
        if config.api_key:
            self._headers["authorization"] = f"Bearer {config.api_key}"
        self._slots = asyncio.Semaphore(config.concurrency)
        self._breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown_s)
        self._counts: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self.rubric.name

    def stats(self) -> dict[str, int]:
        keys = ("calls", "judged", "errors", "retries", "unavailable")
        return {**{k: self._counts[k] for k in keys}, "breaker_opens": self._breaker.opens}

    @property
    def breaker_state(self) -> str:
        return self._breaker.state

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def judge(self, item: JudgeInput) -> Judgment:
        """Score `item` with the rubric; a judge error is a Judgment with `error`, not a raise."""
        async with self._slots:
            try:
                return await self._judge(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not kill the caller's loop: report it
                self._counts["errors"] += 1
                log.exception("judge failed unexpectedly", trace_id=item.trace_id)
                return self._judgment(None, f"internal error: {type(exc).__name__}: {exc}",
                                      [], 0.0)

    async def _judge(self, item: JudgeInput) -> Judgment:
        body = orjson.dumps(request_body(item, self.rubric, self.config.model,
                                         self.config.max_part_chars))
        attempts: list[Attempt] = []
        failures = down = 0
        while True:
            attempt = await self._attempt(body)
            attempts.append(attempt)
            if attempt.verdict is not None:
                self._counts["judged"] += 1
                return self._judgment(attempt.verdict, "", attempts, attempt.latency_ms)
            if attempt.down:
                down += 1
                self._counts["unavailable"] += 1
                if down == 1 or down % 50 == 0:
                    log.warning("judge endpoint unreachable, waiting", reason=attempt.reason,
                                attempts=down)
                await asyncio.sleep(self._backoff(down))
                continue
            failures += 1
            if failures > self.config.max_retries:
                self._counts["errors"] += 1
                reason = f"{attempt.reason} (gave up after {failures} attempts)"
                return self._judgment(None, reason, attempts, attempt.latency_ms)
            self._counts["retries"] += 1
            delay = attempt.retry_after_s
            await asyncio.sleep(self._backoff(failures) if delay is None else delay)

    async def _attempt(self, body: bytes) -> Attempt:
        token = await self._breaker.admit()
        self._counts["calls"] += 1
        started = time.perf_counter()
        try:
            try:
                response = await self._client.post(self._url, content=body,
                                                   headers=self._headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self._breaker.failure()
                return Attempt(down=True, reason=f"endpoint unreachable: {_describe(exc)}")
            except httpx.TimeoutException:
                self._breaker.failure()
                return Attempt(reason=f"timed out after {self.config.timeout_s:g} s")
            except httpx.HTTPError as exc:  # dropped mid-request, protocol error
                self._breaker.failure()
                return Attempt(reason=f"transport error: {_describe(exc)}")
            latency_ms = (time.perf_counter() - started) * 1000.0
            status = response.status_code
            if status >= 500:
                self._breaker.failure()
            else:
                self._breaker.success()
        finally:
            self._breaker.release(token)
        return read_reply(response, latency_ms, self.config.max_retry_after_s)

    def _judgment(self, verdict: tuple[float, str, str] | None, error: str,
                  attempts: list[Attempt], latency_ms: float) -> Judgment:
        input_tokens = sum(a.input_tokens for a in attempts)
        output_tokens = sum(a.output_tokens for a in attempts)
        cost = 0.0
        if self._prices is not None and (input_tokens or output_tokens):
            tokens = TokenCounts(input_tokens, output_tokens,
                                 sum(a.cached_tokens for a in attempts), estimated=False)
            cost = self._prices.price(self.config.provider, self.config.model, tokens).total_usd
        score, label, rationale = verdict if verdict is not None else (None, "", "")
        return Judgment(
            evaluator=self.rubric.name, version=self.rubric.version, score=score, label=label,
            rationale=rationale, judge_model=self.config.model, cost_usd=cost,
            latency_ms=latency_ms, input_tokens=input_tokens, output_tokens=output_tokens,
            error=error)

    def _backoff(self, n: int) -> float:
        """Exponential backoff with jitter: the n-th wait is in [b/2, b], b = initial * 2^(n-1)."""
        cap = self.config.backoff_max_s
        base: float = min(cap, self.config.backoff_initial_s * 2.0 ** min(n - 1, 30))
        return base * random.uniform(0.5, 1.0)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
