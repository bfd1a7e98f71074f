"""A real local webhook receiver for the notifier tests.

`WebhookReceiver(secrets={"/generic": b"..."}).start()` serves every `POST /<path>`
(aiohttp, in a background thread with its own event loop) on 127.0.0.1 and a free
port and returns the base URL. It answers 200 unless scripted otherwise:

    fail_next(n, status=500, retry_after=None)   the next n requests get that status
    set_down(True)    stop listening and drop every connection (connection refused);
    set_down(False)   listen again on the same port

For a path given a secret it checks `X-Vigil-Signature` the way docs/alerts.md tells
receivers to (its own code, not vigil's) and answers 401 when it does not verify.
`requests` lists everything received (path, headers, raw body, JSON, arrival time,
status answered, whether the signature verified).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web

from tests.support.http_thread import ThreadedServer

T = TypeVar("T")


@dataclass(slots=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float  # time.monotonic() at arrival
    status: int = 0
    verified: bool | None = None  # None: no secret for this path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Vigil-Delivery-Id", "")


def signature_ok(secret: bytes, headers: dict[str, str], body: bytes,
                 max_age_s: float = 300) -> bool:
    """The receiver-side check, written independently of vigil.notify.payloads.verify."""
    timestamp = headers.get("X-Vigil-Timestamp", "")
    signature = headers.get("X-Vigil-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_age_s:
        return False
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


class WebhookReceiver(ThreadedServer):
    name = "webhook-receiver"

    def __init__(self, secrets: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self.secrets = dict(secrets or {})
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._script: list[tuple[int, str | None]] = []

    @property
    def base_url(self) -> str:
        return self.origin

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{tail:.*}", self._handle)

    def fail_next(self, n: int, status: int = 500, retry_after: str | None = None) -> None:
        with self._lock:
            self._script.extend([(status, retry_after)] * n)

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what was received -------------------------------------------------------------
    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def delivered(self, path: str | None = None) -> list[ReceivedRequest]:
        """The requests answered 2xx (on `path`, if given), in arrival order."""
        return [r for r in self.requests
                if 200 <= r.status < 300 and (path is None or r.path == path)]

    def delivery_counts(self) -> Counter[str]:
        """How often each X-Vigil-Delivery-Id was accepted (a duplicate counts 2)."""
        return Counter(r.delivery_id for r in self.delivered())

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        headers = dict(request.headers)
        record = ReceivedRequest(request.path, headers, body, doc, time.monotonic())
        secret = self.secrets.get(request.path)
        if secret is not None:
            record.verified = signature_ok(secret, headers, body)
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
            self._requests.append(record)
        if scripted is not None:
            status, retry_after = scripted
            extra = {"Retry-After": retry_after} if retry_after is not None else {}
            response = web.json_response({"error": "scripted"}, status=status, headers=extra)
        elif record.verified is False:
            response = web.json_response({"error": "bad signature"}, status=401)
        elif doc is None:
            response = web.json_response({"error": "not JSON"}, status=400)
        else:
            response = web.json_response({"status": "success"}, status=202)
        record.status = response.status
        return response
