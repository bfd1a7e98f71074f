"""`vigil import` on real stores: straight into an embedded store this process opens, and
through a running sink's write endpoint (the store held, as by `vigil up`); each file imported
twice is stored once, the rejects file names the bad lines, history older than the retention
survives the TTL, and `vigil analyze backtest` then finds the incident in it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import KEY_A, PROJECT_A, Broker, Stack
from vigil.launch.import_cli import import_command
from vigil.settings import Settings
from vigil.store.client import open_store

pytestmark = pytest.mark.integration


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def trace_line(i: int, start: datetime, latency_ms: float, **fields: Any) -> dict[str, Any]:
    return {"eventId": f"imp-{i}", "traceId": f"{i:032x}", "app": "checkout-bot",
            "environment": "production", "provider": "openai", "model": "gpt-4o",
            "startTime": _z(start), "endTime": _z(start + timedelta(milliseconds=latency_ms)),
            "prompt": [{"role": "user", "content": "where is my order"}],
            "completion": "It ships soon.", "finishReason": "stop",
            "inputTokens": 40 + i % 9, "outputTokens": 12 + i % 5, **fields}


def write_jsonl(path: Path, docs: list[dict[str, Any] | bytes]) -> None:
    path.write_bytes(b"".join((d if isinstance(d, bytes) else orjson.dumps(d)) + b"\n"
                              for d in docs))


def small_history(start: datetime) -> list[dict[str, Any] | bytes]:
    """Ten traces, feedback and a score on them, and four bad lines (3, 7, 13, 15)."""
    docs: list[dict[str, Any] | bytes] = [
        trace_line(0, start, 900, completion="Mail jane.doe@example.com for the refund."),
        trace_line(1, start + timedelta(minutes=1), 800),
        b'{"eventId": "cut-short"',                                              # 3
    ]
    docs += [trace_line(i, start + timedelta(minutes=i), 700 + i) for i in range(2, 5)]
    docs.append(trace_line(99, start, 500, model=""))                             # 7
    docs += [trace_line(i, start + timedelta(minutes=i), 700 + i) for i in range(5, 9)]
    docs.append({"feedback": {"traceId": f"{1:032x}", "kind": "FEEDBACK_KIND_THUMBS",
                              "value": 0, "time": _z(start + timedelta(minutes=2))}})
    docs.append({"score": {"traceId": f"{77:032x}", "name": "helpfulness", "value": 0.5}})  # 13
    docs.append({"score": {"traceId": f"{2:032x}", "name": "helpfulness", "value": 0.25}})
    docs.append({"feedback": {"traceId": "t", "kind": "FEEDBACK_KIND_THUMBS", "value": 1}})  # 15
    docs.append(trace_line(9, start + timedelta(minutes=9), 650))
    return docs


def test_an_import_into_the_store_is_stored_once_and_outlives_the_retention(
        store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=store_dir, clickhouse_database=f"i_{uuid.uuid4().hex[:8]}",
                        api_keys=f"{KEY_A}={PROJECT_A}", retention_days=30)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    history = tmp_path / "history.jsonl"
    write_jsonl(history, small_history(start))

    assert import_command(settings, history, KEY_A, None) == 0
    first = capsys.readouterr().out
    assert "loaded: 10 traces, 1 feedback" in first and "rejected: 4" in first
    rejects = tmp_path / "history.jsonl.rejects.jsonl"
    refused = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert [r["line"] for r in refused] == [3, 7, 13, 15]
    assert "not JSON" in refused[0]["reason"]
    assert "model: is required" in refused[1]["reason"]
    assert "not among the traces earlier in this file" in refused[2]["reason"]
    assert "time: is required" in refused[3]["reason"]

    assert import_command(settings, history, KEY_A, None) == 0
    again = capsys.readouterr().out
    assert "loaded: 0 traces, 0 feedback, 0 scores" in again
    assert "skipped as already stored: 10 traces, 1 feedback" in again

    store = open_store(settings)
    for table in ("traces", "feedback", "scores"):
        assert "TTL toDateTime(stored_at) + toIntervalDay(30)" in store.query(
            "SELECT create_table_query FROM system.tables WHERE database = {d:String} "
            "AND name = {t:String}", {"d": settings.clickhouse_database, "t": table}
        ).result_rows[0][0]
        store.command(f"OPTIMIZE TABLE {table} FINAL")  # applies the TTL now
    traces = store.rows("SELECT event_id, start_time, completion, total_cost, pii_masked, "
                        "received_at, raw_offset FROM traces WHERE project_id = {p:String} "
                        "ORDER BY raw_offset", {"p": PROJECT_A})
    assert [t["event_id"] for t in traces] == [f"imp-{i}" for i in range(10)]
    naive = start.replace(tzinfo=None)                      # the store answers in UTC
    assert traces[0]["start_time"] == naive                 # the timestamp as given
    assert traces[0]["received_at"] == naive + timedelta(milliseconds=900)
    assert "jane.doe@example.com" not in traces[0]["completion"]   # masked like live traffic
    assert traces[0]["pii_masked"] == {"email": 1}
    assert all(t["total_cost"] > 0 for t in traces)         # priced from the tokens
    assert [t["raw_offset"] for t in traces[:3]] == [1, 2, 4]  # the line numbers
    feedback = store.rows("SELECT trace_id, value FROM feedback WHERE project_id = {p:String}",
                          {"p": PROJECT_A})
    assert feedback == [{"trace_id": f"{1:032x}", "value": 0.0}]
    scores = store.rows("SELECT score_id, evaluator, score, count() OVER () AS n FROM scores "
                        "WHERE project_id = {p:String} ORDER BY score_id", {"p": PROJECT_A})
    imported = [s for s in scores if s["evaluator"] == "helpfulness"]
    assert [(s["score_id"], s["score"]) for s in imported] == [("imp-2:helpfulness:import",
                                                                 0.25)]
    assert {s["evaluator"] for s in scores} - {"helpfulness"}  # the built-in evaluators ran
    assert len({s["score_id"] for s in scores}) == len(scores)


def incident_history(end: datetime) -> list[dict[str, Any] | bytes]:
    """26 hours at 3 traces a minute before `end`; 3x slower from 40 to 10 minutes before."""
    docs: list[dict[str, Any] | bytes] = []
    for m in range(26 * 60, 0, -1):
        slow = 10 < m <= 40
        for k in range(3):
            latency = 2400.0 if slow else 800.0 + (m * 37 + k * 11) % 80
            docs.append(trace_line(len(docs), end - timedelta(minutes=m, seconds=-k * 15),
                                   latency))
    docs.insert(5, b"not json at all")
    return docs


def test_an_import_through_the_store_owner_is_backtested(tmp_path: Path,
                                                         broker: Broker) -> None:
    stack = Stack(tmp_path, broker.bootstrap, VIGIL_ANALYZER_HISTORY_DAYS="1",
                  VIGIL_RETENTION_DAYS="3")
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=5)
    history = tmp_path / "week.jsonl"
    docs = incident_history(end)
    write_jsonl(history, docs)
    stored = len(docs) - 1
    env = {**stack.env, "VIGIL_STORE_WRITER_URL": stack.api_url}
    try:
        stack.start("sink")
        for run in ("first", "again"):
            done = subprocess.run(
                [sys.executable, "-m", "vigil", "import", str(history), "--key", KEY_A,
                 "--rejects", str(tmp_path / "bad.jsonl")],
                env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            assert "writing through the store owner" in done.stderr
            assert "import" in done.stderr                            # the progress bar
            loaded = 0 if run == "again" else stored
            assert f"loaded: {loaded} traces" in done.stdout, done.stdout
            assert "rejected: 1" in done.stdout
        assert [orjson.loads(x)["line"] for x in
                (tmp_path / "bad.jsonl").read_bytes().splitlines()] == [6]
        stats = stack.get("/v1/stats")
        assert stats["traces"] == stats["distinct_event_ids"] == stored

        out = tmp_path / "alerts.json"
        done = subprocess.run(
            [sys.executable, "-m", "vigil", "analyze", "backtest",
             "--from", (end - timedelta(hours=2)).isoformat(), "--to", end.isoformat(),
             "--json", str(out)], env=stack.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        firing = [e for e in json.loads(out.read_text()) if e["status"] == "firing"]
        assert [(e["signal"], e["app"], e["model"]) for e in firing] == \
            [("latency_regression", "checkout-bot", "gpt-4o")]
        started = datetime.fromisoformat(firing[0]["time"])
        assert end - timedelta(minutes=40) < started <= end - timedelta(minutes=10)
    finally:
        stack.stop()
