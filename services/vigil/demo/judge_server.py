"""The demo judge's HTTP adapter: an OpenAI-compatible ``POST /v1/chat/completions`` on a
local port (``vigil demo-judge``, started by ``vigil up`` with the demo), answering with
``vigil.demo.judge.completion_for``; ``GET /v1/models`` names the demo model and
``GET /health`` answers ok. A request that is not a chat-completions body gets 400 with
the reason. Standard library only: a ``ThreadingHTTPServer``."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vigil.demo.judge import DEMO_JUDGE_MODEL, completion_for
from vigil.runtime.logs import get_logger

log = get_logger(__name__)
_MAX_BODY = 4 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server_version = "vigil-demo-judge"
    protocol_version = "HTTP/1.1"  # keep-alive: the judge's client reuses its connections

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per judgment is noise; errors are logged below

    def _reply(self, status: HTTPStatus, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(HTTPStatus.OK, {"status": "ok", "demo": True})
        elif self.path == "/v1/models":
            self._reply(HTTPStatus.OK, {"object": "list", "data": [
                {"id": DEMO_JUDGE_MODEL, "object": "model", "owned_by": "vigil-demo"}]})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._reply(HTTPStatus.NOT_FOUND, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("content-length") or 0)
        if not 0 < length <= _MAX_BODY:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": {"message": "bad content-length"}})
            return
        try:
            request = json.loads(self.rfile.read(length))
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
            reply = completion_for(request)
        except ValueError as exc:
            log.warning("demo judge: bad request", reason=str(exc))
            self._reply(HTTPStatus.BAD_REQUEST, {"error": {"message": str(exc)}})
            return
        self._reply(HTTPStatus.OK, reply)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the judge opens up to its concurrency at once; 5 refuses some


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The demo judge bound to host:port (port 0: a free one, see ``server_address``)."""
    server = _Server((host, port), _Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="demo-judge", daemon=True)
    thread.start()
    return thread
