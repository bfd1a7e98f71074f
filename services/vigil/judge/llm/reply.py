"""What the LLM judge reads back: the verdict in `choices[0].message.content` (a JSON
object with `score` in [0, 1], `label` and `rationale`, a markdown fence tolerated), the
tokens in `usage`, and for 429/503 how long `Retry-After` says to wait."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import orjson

MAX_RATIONALE = 500
MAX_LABEL = 64


@dataclass(slots=True)
class Attempt:
    """What one HTTP call gave: a verdict, a reason to retry, or the endpoint down."""

    verdict: tuple[float, str, str] | None = None  # score, label, rationale
    reason: str = ""
    down: bool = False
    retry_after_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    latency_ms: float = 0.0


def read_reply(response: httpx.Response, latency_ms: float,
               max_retry_after_s: float) -> Attempt:
    """The verdict or the reason to retry in one HTTP reply (any status), with its tokens."""
    status = response.status_code
    if status != 200:
        retry_after = None
        if status in (429, 503):
            retry_after = retry_after_s(response.headers.get("retry-after"))
            if retry_after is not None:
                retry_after = min(retry_after, max_retry_after_s)
        what = "rate limited" if status == 429 else _snippet(response.text)
        return Attempt(reason=f"HTTP {status}: {what}", retry_after_s=retry_after,
                       latency_ms=latency_ms)
    attempt = Attempt(latency_ms=latency_ms)
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        attempt.reason = "malformed response: the body is not JSON"
        return attempt
    if not isinstance(doc, dict):
        attempt.reason = "malformed response: the body is not a JSON object"
        return attempt
    attempt.input_tokens, attempt.output_tokens, attempt.cached_tokens = _usage(doc)
    try:
        attempt.verdict = parse_verdict(_content(doc))
    except ValueError as exc:
        attempt.reason = f"malformed response: {exc}"
    return attempt


def parse_verdict(content: str) -> tuple[float, str, str]:
    """(score, label, rationale) from the judge's JSON reply; ValueError says what is wrong."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"content is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError("content is not a JSON object")
    score = doc.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError(f"score is not a number: {str(score)[:40]!r}")
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score {score} is outside [0, 1]")
    label, rationale = doc.get("label"), doc.get("rationale")
    if not isinstance(label, str):
        raise ValueError("label is missing or not a string")
    if not isinstance(rationale, str):
        raise ValueError("rationale is missing or not a string")
    return float(score), label.strip()[:MAX_LABEL], rationale.strip()[:MAX_RATIONALE]


def _content(doc: dict[str, object]) -> str:
    choices = doc.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("no choices in the reply")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not a string")
    return content


def _usage(doc: dict[str, object]) -> tuple[int, int, int]:
    usage = doc.get("usage")
    if not isinstance(usage, dict):
        return 0, 0, 0
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")), \
        _count(cached)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _snippet(text: str) -> str:
    return " ".join(text.split())[:200] or "(empty body)"
