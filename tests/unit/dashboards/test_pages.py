"""The dashboard pages against a real (tiny, in-process) HTTP server standing in for the
read API: canned data, empty project, and an unreachable API."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[3] / "dashboards"
sys.path.insert(0, str(ROOT))

from api import ApiError, VigilApi  # noqa: E402

KEY = "test-key"
TIMEOUT = 30

STATS = {"project_id": "p1", "traces": 1234, "distinct_event_ids": 1234, "cost_usd": 12.3456,
         "errors": 7, "unpriced": 2, "tokens_estimated": 0, "input_tokens": 50000,
         "output_tokens": 20000, "last_stored_at": "2026-01-01 10:00:00.000",
         "feedback": 42, "distinct_feedback_ids": 42,
         "by_model": [{"provider": "openai", "model": "gpt-4o-mini", "traces": 1000,
                       "cost_usd": 10.5, "input_tokens": 40000, "output_tokens": 15000,
                       "latency_p95_ms": 850.0},
                      {"provider": "anthropic", "model": "claude-haiku", "traces": 234,
                       "cost_usd": 1.8456, "input_tokens": 10000, "output_tokens": 5000,
                       "latency_p95_ms": 640.0}]}
BUCKETS = ["2026-01-01 09:00:00.000", "2026-01-01 10:00:00.000"]
TRAFFIC = [{"bucket": b, "slice": "", "traces": 10 + i, "cost_usd": 0.5 * i, "errors": i,
            "latency_p95_ms": 700.0} for i, b in enumerate(BUCKETS)]
QUALITY = [{"bucket": b, "slice": "", "judgments": 5, "judge_errors": 0,
            "mean_score": 0.8 - 0.1 * i} for i, b in enumerate(BUCKETS)]
SAMPLING = [{"slice": "support-bot", "eligible": 100, "judged": 40, "judged_by_rule": 5,
             "skipped_budget": 3, "judged_share": 0.4}]
ALERTS = [{"project_id": "p1", "event_time": "2026-01-01 10:00:00", "alert_id": "a1",
           "dedupe_key": "d", "status": "firing", "severity": "page", "signal": "quality",
           "title": "Quality dropped on support-bot", "summary": "mean score 0.41 vs 0.80",
           "slice": {"app": "support-bot"}, "value": 0.41, "baseline": 0.8, "threshold": 0.6,
           "started_at": "2026-01-01 09:55:00", "resolved_at": "", "links": {}}]
TICKET = {"ticket_id": "t-1", "status": "open", "signal": "quality",
          "title": "Retrain support-bot answers", "slice": {"app": "support-bot"},
          "window_start": "2026-01-01 09:00:00", "window_end": "2026-01-01 10:00:00",
          "dataset_size": 2, "opened_at": "2026-01-01 10:00:00",
          "updated_at": "2026-01-01 10:00:00", "reopened": 0}
TICKET_FULL = {**TICKET, "project_id": "p1", "dedupe_key": "d",
               "description": "Scores fell below 0.6 for an hour.",
               "before": {"mean_score": 0.8}, "after": {"mean_score": 0.41},
               "examples": [{"trace_id": "tr-1", "prompt": "hi", "output": "bad answer"}],
               "drift_report": {}}
TRACES = [{"event_id": "e1", "trace_id": "tr-1", "start_time": "2026-01-01 10:00:00",
           "app": "support-bot", "model": "gpt-4o-mini", "status": "ok", "latency_ms": 321,
           "input_tokens": 12, "output_tokens": 34, "total_cost": 0.0012}]
TRACE = {"trace_id": "tr-1", "calls": TRACES,
         "feedback": [{"feedback_id": "f1", "kind": "thumbs", "value": 0.0,
                       "comment": "wrong refund policy", "user_id": "u", "time": "x"}],
         "scores": [{"event_id": "e1", "evaluator": "helpfulness", "score": 0.25,
                     "label": "bad", "rationale": "did not answer", "error": ""}],
         "spans": [{"span_id": "s1", "parent_span_id": "", "name": "chat gpt-4o-mini",
                    "kind": "client", "duration_ms": 321.0, "status": "ok"}]}
REPORTS = [{"report_id": "r-1", "run_at": "2026-01-01 10:00:00", "app": "support-bot",
            "model": "gpt-4o-mini", "reference_start": "", "reference_end": "",
            "current_start": "", "current_end": "", "drifted_features": ["prompt_length"],
            "report": {"share_drifted": 0.5}, "has_html": True}]
DRIFT_HTML = "<html><body><h1>evidently report</h1></body></html>"


class FakeReadApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, empty: bool) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.empty = empty
        self.posts: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeReadApi

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {KEY}":
            return True
        self._send(401, {"detail": "missing or unknown API key"})
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        empty = self.server.empty
        if path == "/v1/stats":
            body: Any = ({**STATS, "traces": 0, "cost_usd": 0, "by_model": []} if empty
                         else STATS)
        elif path.startswith("/v1/timeseries/"):
            metric = path.rsplit("/", 1)[1]
            pts = {"traffic": TRAFFIC, "quality": QUALITY}.get(metric, [])
            body = {"points": [] if empty else pts}
        elif path == "/v1/judge/sampling":
            body = {"slices": [] if empty else SAMPLING}
        elif path == "/v1/alerts":
            status = query.get("status", [None])[0]
            body = {"alerts": [] if empty else [a for a in ALERTS
                                                if status in (None, a["status"])]}
        elif path == "/v1/tickets":
            body = {"tickets": [] if empty else [TICKET]}
        elif path == "/v1/tickets/t-1":
            body = TICKET_FULL
        elif path == "/v1/tickets/t-1/dataset":
            return self._send(200, '{"messages": []}\n', "application/jsonl")
        elif path == "/v1/traces":
            body = {"traces": [] if empty else TRACES}
        elif path == "/v1/traces/tr-1":
            body = TRACE
        elif path == "/v1/drift/reports":
            body = {"reports": [] if empty else REPORTS}
        elif path == "/v1/drift/reports/r-1/html":
            return self._send(200, DRIFT_HTML, "text/html")
        else:
            return self._send(404, {"detail": f"nothing at {path}"})
        self._send(200, body)

    def do_POST(self) -> None:
        if not self._authorized():
            return
        path = urlparse(self.path).path
        self.server.posts.append(path)
        if path == "/v1/tickets/t-1/acknowledge":
            return self._send(200, {**TICKET_FULL, "status": "acknowledged"})
        self._send(409, {"detail": "the ticket is open; it cannot be resolved"})


def _serve(empty: bool) -> Iterator[FakeReadApi]:
    server = FakeReadApi(empty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReadApi]:
    for server in _serve(empty=False):
        monkeypatch.setenv("VIGIL_API_URL", server.url)
        monkeypatch.setenv("VIGIL_API_KEY", KEY)
        yield server


@pytest.fixture
def api_empty(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReadApi]:
    for server in _serve(empty=True):
        monkeypatch.setenv("VIGIL_API_URL", server.url)
        monkeypatch.setenv("VIGIL_API_KEY", KEY)
        yield server


@pytest.fixture
def api_down(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("VIGIL_API_URL", url)
    monkeypatch.setenv("VIGIL_API_KEY", KEY)
    return url


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.run()
    return at


def text(at: AppTest) -> str:
    """Everything a reader sees on the page, flattened to one string."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "success", "error", "text"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [e.value.to_string() for e in at.dataframe]
    parts += [str(e.value) for e in at.json]
    parts += [str(e.options) for e in at.selectbox]
    return "\n".join(parts)


PAGES = ["Home.py", "pages/1_Cost.py", "pages/2_Quality.py", "pages/3_Alerts.py",
         "pages/4_Tickets.py", "pages/5_Traces.py", "pages/6_Drift.py"]
EXPECTED = {
    "Home.py": ["Traces 1,234", "Cost (USD) $12.3456", "Errors 7", "Feedback 42",
                "2 traces have no known price"],
    "pages/1_Cost.py": ["gpt-4o-mini", "claude-haiku", "Total cost (USD) $12.3456",
                        "Input tokens 50,000"],
    "pages/2_Quality.py": ["Mean judge score", "support-bot", "0.4",
                           "3 eligible traces were skipped"],
    "pages/3_Alerts.py": ["Firing 1", "Quality dropped on support-bot", "mean score 0.41"],
    "pages/4_Tickets.py": ["Retrain support-bot answers", "Scores fell below 0.6",
                           "Examples (1)", "bad answer"],
    "pages/5_Traces.py": ["tr-1", "helpfulness", "wrong refund policy", "chat gpt-4o-mini",
                          "Calls (1)"],
    "pages/6_Drift.py": ["Drifted: prompt_length", "share_drifted"],
}
EMPTY = {
    "Home.py": "No traces stored for this project yet",
    "pages/1_Cost.py": "No priced traffic yet",
    "pages/2_Quality.py": "No judge scores in this time range yet",
    "pages/3_Alerts.py": "No alerts yet: the analyzer",
    "pages/4_Tickets.py": "No tickets yet",
    "pages/5_Traces.py": "No traces yet",
    "pages/6_Drift.py": "No drift reports",
}


@pytest.mark.parametrize("page", PAGES)
def test_page_shows_the_data(api_full: FakeReadApi, page: str) -> None:
    at = run(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = text(at)
    for expected in EXPECTED[page]:
        assert expected in shown, f"{expected!r} missing on {page}"


@pytest.mark.parametrize("page", PAGES)
def test_page_empty_state_says_what_to_do(api_empty: FakeReadApi, page: str) -> None:
    at = run(page)
    assert not at.exception, at.exception
    assert not at.error
    assert EMPTY[page] in "\n".join(str(i.value) for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_page_unreachable_api_is_a_readable_error(api_down: str, page: str) -> None:
    at = run(page)
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "cannot reach the Vigil read API" in at.error[0].value
    assert api_down in at.error[0].value


def test_drift_page_embeds_the_evidently_html(api_full: FakeReadApi) -> None:
    at = run("pages/6_Drift.py")
    assert not at.exception
    frames = [e for e in at.main if getattr(e, "type", None) == "iframe"]
    assert len(frames) == 1
    assert DRIFT_HTML in str(frames[0].proto)


def test_acknowledge_button_posts_and_reports(api_full: FakeReadApi) -> None:
    at = run("pages/4_Tickets.py")
    at.button(key="vigil_ack").click().run()
    assert not at.exception
    assert api_full.posts == ["/v1/tickets/t-1/acknowledge"]
    assert "Ticket t-1 is now acknowledged." in [s.value for s in at.success]


def test_refused_transition_shows_the_api_message(api_full: FakeReadApi) -> None:
    at = run("pages/4_Tickets.py")
    at.button(key="vigil_resolve").click().run()
    assert not at.exception
    assert "cannot be resolved" in at.error[0].value


def test_filters_persist_in_session_state(api_full: FakeReadApi) -> None:
    at = run("Home.py")
    at.sidebar.selectbox[0].select("Last 7 days").run()
    at.sidebar.selectbox[1].select("model").run()
    assert at.session_state["vigil_range"] == "Last 7 days"
    assert at.session_state["vigil_group_by"] == "model"
    assert not at.exception


def test_client_wraps_api_errors(api_full: FakeReadApi) -> None:
    with pytest.raises(ApiError, match=r"401.*unknown API key") as err:
        VigilApi(api_full.url, "wrong").stats()
    assert err.value.status == 401
    with pytest.raises(ApiError, match=r"409.*cannot be resolved"):
        VigilApi(api_full.url, KEY).ticket_action("t-1", "resolve")
    assert VigilApi(api_full.url, KEY).ticket_dataset("t-1") == b'{"messages": []}\n'
