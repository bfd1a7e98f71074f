"""An LLM as judge over any OpenAI-compatible chat-completions endpoint.

Contract: `LlmJudge(config, rubric).judge(item)` sends the rubric as the
system message and the trace (conversation, retrieved context, answer) as
the user message to `POST {base_url}/chat/completions` with
`response_format: {"type": "json_object"}` and temperature 0, and returns a
`Judgment` named after the rubric (`evaluator` = rubric name, `version` =
rubric version). It never raises, except `asyncio.CancelledError`.

The reply's `choices[0].message.content` must be a JSON object (a markdown
fence around it is tolerated) with `score` a number in [0, 1], `label` a
string and `rationale` a string (clipped to 500 characters). Tokens come
from `usage`; cost from the price book (0 without one or for an unpriced
model). Tokens and cost add up over every attempt of the judgment (a
malformed reply was paid for too); `latency_ms` is the last HTTP call's.

Failures, and what they become:
- Malformed reply (not JSON, missing or invalid fields), HTTP 4xx other than
  429: retried after a backoff; after `max_retries` retries, a judge error
  (`Judgment.error` says why, `score` is None).
- HTTP 429: waits `Retry-After` (seconds or an HTTP date, capped at
  `max_retry_after_s`; the backoff when absent); counts as a retry.
- HTTP 5xx, timeouts, a connection dropped mid-request: exponential backoff
  with jitter (`Retry-After` honoured on 503); after `max_retries`, a judge error.
- The endpoint down (connection refused, DNS failure, connect timeout, or the
  circuit breaker open): not the trace's fault, so not an error and not a
  retry. `judge()` keeps waiting and trying (backoff capped at
  `backoff_max_s`) until the endpoint answers: callers that await it stop
  feeding new traces (backpressure), and the judgments complete once it
  returns.
- Concurrency: at most `concurrency` judgments in flight (a semaphore).
- Circuit breaker: after `breaker_failures` consecutive transport failures or
  5xx replies it opens for `breaker_cooldown_s`; callers wait instead of
  calling; then one probe goes through; its success closes the breaker, its
  failure opens it again. Any HTTP reply below 500 counts as a success.

`stats()` gives counters: calls (HTTP requests sent), judged (judgments
with a score), errors (judge errors), retries, unavailable (attempts that
found the endpoint down), breaker_opens (a failed probe opens it again and
counts). The API key is never logged. One `LlmJudge` belongs to one event
loop (its semaphore and breaker do).

Modules: `client` (`LlmJudge`: the HTTP calls, retries, backpressure, counters),
`config` (`LlmJudgeConfig`), `breaker` (`CircuitBreaker`), `prompt` (the request:
`render_trace`), `reply` (reading the answer: `parse_verdict`, `retry_after_s`).
"""

from vigil.judge.llm.client import LlmJudge
from vigil.judge.llm.config import LlmJudgeConfig

__all__ = ["LlmJudge", "LlmJudgeConfig"]
