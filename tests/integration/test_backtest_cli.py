"""`vigil analyze backtest` against a real sink: a day of stored history with a latency
regression 40 minutes ago, seeded through the store owner's write path; the backtest's
JSON names the incident's slice and signal, and the store holds no alert afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import INTERNAL_TOKEN, PROJECT_A, Broker, Stack
from vigil.store.remote_writer import INSERT_TOKEN_HEADER
from vigil.store.tables import TRACE_COLUMNS

pytestmark = pytest.mark.integration


def _trace(i: int, start: datetime, latency_ms: float) -> dict[str, Any]:
    row: dict[str, Any] = {c: "" for c in TRACE_COLUMNS}
    row.update({
        "project_id": PROJECT_A, "start_time": start.isoformat(),
        "end_time": (start + timedelta(milliseconds=latency_ms)).isoformat(),
        "received_at": start.isoformat(), "event_id": f"bt-{i}", "trace_id": f"{i:032x}",
        "app": "checkout-bot", "model": "gpt-4o", "provider": "openai", "params": "{}",
        "prompt": '[{"role":"user","content":"where is my order"}]', "completion": "soon",
        "input_tokens": 40 + i % 9, "output_tokens": 12 + i % 5, "cached_input_tokens": 0,
        "tokens_estimated": False, "input_cost": 0.0001, "output_cost": 0.0002,
        "total_cost": 0.0003, "cost_known": True, "latency_ms": latency_ms, "status": "ok",
        "attributes": {}, "pii_masked": {}, "raw_partition": 0, "raw_offset": i,
        "finish_reason": "stop"})
    return row


def _seed(api_url: str, now: datetime) -> int:
    """26 hours at 3 traces a minute; 3x slower from 40 to 10 minutes ago."""
    rows = []
    for m in range(26 * 60, 0, -1):
        slow = 10 < m <= 40
        for k in range(3):
            latency = 2400.0 if slow else 800.0 + (m * 37 + k * 11) % 80
            rows.append(_trace(len(rows), now - timedelta(minutes=m, seconds=-k * 15), latency))
    headers = {"authorization": f"Bearer {INTERNAL_TOKEN}"}
    with httpx.Client(base_url=api_url, timeout=60) as http:
        for at in range(0, len(rows), 1000):
            body = b"\n".join(orjson.dumps(r) for r in rows[at:at + 1000])
            http.post("/internal/store/traces", content=body,
                      headers={**headers, INSERT_TOKEN_HEADER: f"bt-{at}"}).raise_for_status()
    return len(rows)


def test_the_backtest_names_the_stored_incident(tmp_path: Path, broker: Broker) -> None:
    stack = Stack(tmp_path, broker.bootstrap, VIGIL_ANALYZER_HISTORY_DAYS="1")
    try:
        stack.start("sink")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        stored = _seed(stack.api_url, now)
        assert stack.get("/v1/stats")["traces"] == stored
        out = tmp_path / "alerts.json"
        done = subprocess.run(
            [sys.executable, "-m", "vigil", "analyze", "backtest",
             "--from", (now - timedelta(hours=2)).isoformat(), "--to", now.isoformat(),
             "--json", str(out)], env=stack.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        events = json.loads(out.read_text())
        firing = [e for e in events if e["status"] == "firing"]
        assert [(e["signal"], e["app"], e["model"]) for e in firing] == \
            [("latency_regression", "checkout-bot", "gpt-4o")]
        alert = firing[0]
        started = datetime.fromisoformat(alert["time"])
        assert now - timedelta(minutes=40) < started <= now - timedelta(minutes=10)
        assert alert["value"] > 2 * alert["expected"] and alert["severity"] == "warning"
        assert "latency_regression" in done.stdout and "per simulated week" in done.stdout
        assert "backtest" in done.stderr                      # the progress bar
        assert stack.get("/v1/alerts")["alerts"] == []        # nothing was written
    finally:
        stack.stop()
