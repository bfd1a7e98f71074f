"""Known data for the read API tests: two projects with traces, sessions, judge scores,
feedback, an alert, a ticket and a drift report, written straight into a real store,
plus a real uvicorn server of the read API over it."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.conftest import free_port
from vigil.access.keyring import KeyRing
from vigil.api.app import create_app
from vigil.api.prompt_registry import PromptRegistry
from vigil.core.budgets import Budget
from vigil.core.prompts import parse_content
from vigil.settings import Settings
from vigil.store.client import Store, open_store
from vigil.store.migrate import migrate
from vigil.store.tables import ALERTS, DRIFT_REPORT_HTML, DRIFT_REPORTS, JUDGE_SAMPLING, TICKETS
from vigil.store.writer import LocalStoreWriter

KEY_A, KEY_B, KEY_EMPTY = "key-alpha", "key-beta", "key-gamma"
DRIFT_HTML = "<html><body><h1>evidently drift report</h1></body></html>"
SECRET = "beta-secret-marker"
TRACE_COLUMNS = ("project_id", "start_time", "end_time", "event_id", "trace_id", "span_id",
                 "session_id", "user_id", "app", "environment", "provider", "model", "prompt",
                 "completion", "prompt_template_id", "prompt_template_version",
                 "input_tokens", "output_tokens", "total_cost", "cost_known", "latency_ms",
                 "status", "received_at")
SCORE_COLUMNS = ("project_id", "trace_start_time", "score_id", "trace_id", "event_id", "app",
                 "environment", "model", "prompt_template_id", "prompt_template_version",
                 "evaluator", "score", "judged_at")
FEEDBACK_COLUMNS = ("project_id", "time", "feedback_id", "trace_id", "kind", "value",
                    "comment", "user_id", "received_at")


@dataclass
class Seeded:
    now: datetime
    traces: list[dict[str, Any]] = field(default_factory=list)   # project alpha
    scores: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    beta_trace_ids: list[str] = field(default_factory=list)
    alpha_ticket: str = "ticket-alpha-1"
    beta_ticket: str = "ticket-beta-1"


def seed(store: Store, now: datetime) -> Seeded:
    data = Seeded(now)
    rows: list[tuple[Any, ...]] = []
    for i in range(600):
        start = now - timedelta(minutes=100) + timedelta(seconds=10 * i)
        version = "v1" if i % 2 == 0 else "v2"
        trace = {
            "event_id": f"a-ev-{i:04d}", "trace_id": f"a-tr-{i:04d}",
            "session_id": f"a-sess-{i // 10:02d}", "user_id": f"user-{i % 7}",
            "app": "chat" if i % 3 else "search", "environment": "prod",
            "model": "m1" if i % 4 < 2 else "m2", "prompt_template_version": version,
            "start_time": start, "latency_ms": float(100 + i % 50),
            "total_cost": 0.001 if i % 4 < 2 else 0.002,
            "status": "error" if i % 20 == 0 else "ok",
            "prompt": f"question number {i}" + (" about refunds" if i % 25 == 0 else ""),
            "completion": f"answer {i}"}
        data.traces.append(trace)
        rows.append(_trace_row("alpha", trace))
        score = (0.9 if version == "v1" else 0.6) + ((i * 7) % 11 - 5) / 100
        data.scores.append({"trace_id": trace["trace_id"], "score": score,
                            "version": version})
        if i % 3 == 0:
            data.feedback.append({"trace_id": trace["trace_id"],
                                  "value": 1.0 if version == "v1" else float(i % 2 == 0)})
    for i in range(50):
        trace = {"event_id": f"b-ev-{i:04d}", "trace_id": f"b-tr-{i:04d}",
                 "session_id": "b-sess-1", "user_id": "beta-user", "app": "chat",
                 "environment": "prod", "model": "m1", "prompt_template_version": "v1",
                 "start_time": now - timedelta(minutes=30) + timedelta(seconds=i),
                 "latency_ms": 5000.0, "total_cost": 1.0, "status": "ok",
                 "prompt": f"{SECRET} {i}", "completion": SECRET}
        data.beta_trace_ids.append(trace["trace_id"])
        rows.append(_trace_row("beta", trace))
    store.insert("traces", rows, TRACE_COLUMNS)
    by_trace = {t["trace_id"]: t for t in data.traces}
    store.insert("scores", [
        ("alpha", by_trace[s["trace_id"]]["start_time"], f"sc-{n}", s["trace_id"],
         by_trace[s["trace_id"]]["event_id"], by_trace[s["trace_id"]]["app"], "prod",
         by_trace[s["trace_id"]]["model"], "answer", s["version"], "helpfulness", s["score"],
         now) for n, s in enumerate(data.scores)], SCORE_COLUMNS)
    store.insert("feedback", [
        ("alpha", by_trace[f["trace_id"]]["start_time"] + timedelta(seconds=5), f"fb-{n}",
         f["trace_id"], "thumbs", f["value"], "", "user", now)
        for n, f in enumerate(data.feedback)], FEEDBACK_COLUMNS)
    for project, ticket in (("alpha", data.alpha_ticket), ("beta", data.beta_ticket)):
        _insert_json(store, "tickets", TICKETS.columns, {
            "project_id": project, "updated_at": now.isoformat(), "version_id": f"v-{ticket}",
            "ticket_id": ticket, "dedupe_key": ticket, "status": "open", "signal": "quality",
            "title": f"Quality of {project}", "description": "scores fell", "slice": {},
            "window_start": now.isoformat(), "window_end": now.isoformat(), "before": {},
            "after": {}, "drift_report": "{}", "examples": json.dumps([{
                "trace_id": "x", "event_id": "x", "prompt": [{"role": "user", "content": "p"}],
                "completion": "c", "score": 0.1, "feedback": "thumbs down",
                "start_time": now.isoformat()}]),
            "dataset_size": 1, "opened_at": now.isoformat(), "reopened": 0})
    _insert_json(store, "drift_reports", DRIFT_REPORTS.columns, {
        "project_id": "alpha", "run_at": (now - timedelta(minutes=5)).isoformat(),
        "report_id": "drift-1", "app": "chat", "model": "m1",
        "reference_start": now.isoformat(), "reference_end": now.isoformat(),
        "current_start": now.isoformat(), "current_end": now.isoformat(),
        "drifted_features": ["prompt_tokens"], "report": json.dumps({"features": [
            {"feature": "prompt_tokens", "kind": "numeric", "effect_size": 0.4,
             "psi": 0.3, "drifted": True},
            {"feature": "output_tokens", "kind": "numeric", "effect_size": 0.01,
             "psi": 0.01, "drifted": False}]}),
        "evidently_json": "", "html_parts": 1})
    _insert_json(store, "drift_report_html", DRIFT_REPORT_HTML.columns, {
        "project_id": "alpha", "run_at": (now - timedelta(minutes=5)).isoformat(),
        "part_id": "drift-1-0", "report_id": "drift-1", "part": 0,
        "data": base64.b64encode(gzip.compress(DRIFT_HTML.encode())).decode()})
    _insert_json(store, "alerts", ALERTS.columns, {
        "project_id": "alpha", "event_time": (now - timedelta(minutes=10)).isoformat(),
        "alert_id": "alert-1", "dedupe_key": "quality/chat", "status": "firing",
        "severity": "page", "signal": "quality", "title": "Quality dropped on chat",
        "summary": "mean score 0.60 vs 0.90", "slice": {"app": "chat"}, "value": 0.6,
        "baseline": 0.9, "threshold": 0.75,
        "started_at": (now - timedelta(minutes=10)).isoformat(), "resolved_at": "",
        "links": {}})
    _insert_json(store, "judge_sampling", JUDGE_SAMPLING.columns, {
        "project_id": "alpha", "minute": (now - timedelta(minutes=20)).isoformat(),
        "summary_id": "js-1", "app": "chat", "environment": "prod", "model": "m1",
        "prompt_template_version": "v1", "eligible": 100, "judged": 40, "judged_by_rule": 5,
        "skipped_budget": 3})
    seed_prompts(store)
    return data


def seed_prompts(store: Store) -> None:
    """Prompt `greet` of alpha: two versions, `production` on the first; through the
    registry's own write path."""
    registry = PromptRegistry(store, LocalStoreWriter(store))
    for text in ("Hello {{name}}", "Hi {{name}}!"):
        registry.push("alpha", "greet", parse_content({
            "messages": [{"role": "user", "content": text}], "model": "m1",
            "params": {"temperature": 0.2}}), "seed", "seed")
    registry.move_label("alpha", "greet", "production", 1, "seed")


def _trace_row(project: str, t: dict[str, Any]) -> tuple[Any, ...]:
    values = {"project_id": project, "end_time": t["start_time"], "span_id": "s",
              "provider": "test", "prompt_template_id": "answer", "input_tokens": 10,
              "output_tokens": 20, "cost_known": True, "received_at": t["start_time"], **t}
    return tuple(values[c] for c in TRACE_COLUMNS)


def _insert_json(store: Store, table: str, columns: tuple[str, ...], row: dict[str, Any]
                 ) -> None:
    store.insert_json_lines(table, columns, json.dumps(row).encode())


class ApiServer:
    """The read API app on a real uvicorn server in a thread."""

    def __init__(self, store: Store, port: int, budgets: list[Budget],
                 keys: KeyRing | None = None) -> None:
        keys = keys or KeyRing.parse(f"{KEY_A}=alpha,{KEY_B}=beta,{KEY_EMPTY}=gamma")
        app = create_app(store, keys, "internal", budgets)
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                     log_level="warning"))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("the read API did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextmanager
def seeded_api(store_dir: Path, database: str, budgets: list[Budget]
               ) -> Iterator[tuple[ApiServer, Seeded, Store]]:
    """A fresh database in the test process's store, seeded, served over real HTTP.

    Dropped first: a module's fixture may be set up twice in one session (a random test
    order can split a module), and seeding twice would double every count."""
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=database))
    store.command(f"DROP DATABASE IF EXISTS `{database}`")
    store.close()
    store = open_store(Settings(data_dir=store_dir, clickhouse_database=database))
    migrate(store, 90)
    data = seed(store, utc_now())
    server = ApiServer(store, free_port(), budgets)
    server.start()
    try:
        yield server, data, store
    finally:
        server.stop()


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
