"""A real local OpenAI-compatible chat-completions server for judge tests and benchmarks.

`FakeJudgeServer().start()` serves `POST /v1/chat/completions` (aiohttp, in a
background thread with its own event loop) on 127.0.0.1 and a free port, and
returns the base URL `http://127.0.0.1:PORT/v1`. What it answers is scripted
by the first marker `[judge:...]` in the last user message (the judge copies
the trace there), a good verdict when there is none:

    [judge:good]             200, {"score": 0.8, "label": "helpful", ...}
    [judge:score:0.25]       200 with that score
    [judge:malformed]        200 whose content is not JSON, every time
    [judge:malformed-once]   malformed the first time for this user message, good after
    [judge:bad-score]        200 with score 7 (outside [0, 1])
    [judge:slow:2.5]         waits 2.5 s, then good; [judge:slow-once:2.5] only the first time
    [judge:500]              HTTP 500 every time; [judge:500-once] only the first time
    [judge:429:1]            HTTP 429 with `Retry-After: 1` the first time, good after;
                             [judge:429-always:1] every time
    [judge:400]              HTTP 400 every time

"The first time" is counted per distinct user message. `set_down(True)` stops
listening and closes every connection (clients get "connection refused");
`set_down(False)` listens again on the same port. `requests` lists every
request received (monotonic arrival time, marker, the n-th time for its
message, status answered); `max_in_flight` is the most handled at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from aiohttp import web

from tests.support.http_thread import ThreadedServer

T = TypeVar("T")
_MARKER = re.compile(r"\[judge:([a-z0-9-]+)(?::([0-9.]+))?\]")


@dataclass(slots=True)
class RecordedRequest:
    at: float  # time.monotonic() when the request arrived
    marker: str  # e.g. "429" (argument not included), "" for none
    nth: int  # 1 the first time this user message was seen
    body: dict[str, Any]
    authorization: str
    status: int = 0  # what was answered (0: the client went away first)
    answered_at: float = 0.0


class FakeJudgeServer(ThreadedServer):
    name = "fake-judge"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._seen: Counter[str] = Counter()
        self._in_flight = 0
        self.max_in_flight = 0

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def application(self) -> web.Application:
        return web.Application(client_max_size=64 * 1024 * 1024)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._handle)

    def __enter__(self) -> FakeJudgeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what was received -------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._seen.clear()
            self.max_in_flight = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.json(loads=orjson.loads)
        user = _last_user_text(body)
        found = _MARKER.search(user)
        marker, arg = (found[1], found[2]) if found else ("", None)
        key = hashlib.sha256(user.encode()).hexdigest()
        with self._lock:
            self._seen[key] += 1
            record = RecordedRequest(arrived, marker, self._seen[key], body,
                                     request.headers.get("authorization", ""))
            self._requests.append(record)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            response = await self._behave(marker, arg, record, body)
            record.status, record.answered_at = response.status, time.monotonic()
            return response
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _behave(self, marker: str, arg: str | None, record: RecordedRequest,
                      body: dict[str, Any]) -> web.Response:
        first = record.nth == 1
        if marker == "500" or (marker == "500-once" and first):
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if marker == "400":
            return web.json_response({"error": {"message": "bad request: unknown field"}},
                                     status=400)
        if marker == "429-always" or (marker == "429" and first):
            return web.json_response({"error": {"message": "rate limited"}}, status=429,
                                     headers={"Retry-After": arg or "1"})
        if marker == "slow" or (marker == "slow-once" and first):
            await asyncio.sleep(float(arg or "1"))
        if marker == "malformed" or (marker == "malformed-once" and first):
            return _completion(body, "Sure! The answer is helpful, I would say 8/10.")
        if marker == "bad-score":
            return _completion(body, '{"score": 7, "label": "helpful", "rationale": "great"}')
        score = float(arg) if marker == "score" and arg else 0.8
        verdict = {"score": score, "label": "helpful" if score >= 0.5 else "unhelpful",
                   "rationale": "Answers the question directly and correctly."}
        return _completion(body, orjson.dumps(verdict).decode())


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _completion(body: dict[str, Any], content: str) -> web.Response:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
    prompt_tokens, completion_tokens = max(1, prompt_chars // 4), max(1, len(content) // 4)
    return web.json_response({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }, dumps=lambda doc: orjson.dumps(doc).decode())


def main() -> None:
    """`python -m tests.support.judge_server`: serve until stdin closes; print the base URL
    first."""
    import sys

    with FakeJudgeServer() as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
