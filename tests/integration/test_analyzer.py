"""The analyzer on real parts: two days of steady history and a latency regression in
the last window, sent over gRPC and stored; the analyzer fires one alert, stores it,
and the notifier pages a real HTTP receiver (PagerDuty trigger, signed JSON webhook)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest

from tests.conftest import KEY_A, Broker, Stack, wait_until
from tests.support.factories import ts, valid_event
from tests.support.webhook_receiver import WebhookReceiver
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = pytest.mark.integration
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
SECRET = b"webhook-secret"


def _history(now: datetime, minutes: int, per_minute: int, slow_last: int) -> list[pb.TraceEvent]:
    events = []
    for m in range(minutes, 0, -1):
        for k in range(per_minute):
            start = now - timedelta(minutes=m) + timedelta(seconds=k * 7)
            latency = 2400 if m <= slow_last else 800 + (m * 37 + k * 11) % 80
            e = valid_event(m * per_minute + k, app="checkout-bot", model="gpt-4o",
                            provider="openai")
            e.start_time.CopyFrom(ts(start))
            e.end_time.CopyFrom(ts(start + timedelta(milliseconds=latency)))
            events.append(e)
    return events


async def _emit_all(target: str, events: list[pb.TraceEvent]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for i in range(0, len(events), 1000):
            r = await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=events[i:i + 1000]),
                                     metadata=AUTH_A, timeout=60)
            assert r.accepted == len(events[i:i + 1000]), r.results[:1]


def test_a_latency_regression_pages_on_call(tmp_path_factory: pytest.TempPathFactory,
                                            broker: Broker) -> None:
    root = tmp_path_factory.mktemp("analyzer")
    with WebhookReceiver(secrets={"/hook": SECRET}) as receiver:
        config = root / "notify.yaml"
        config.write_text(
            "backoff_initial_s: 0.2\nbackoff_max_s: 1\nwebhooks:\n"
            f"  - {{name: pd, type: pagerduty, url: '{receiver.base_url}/pd', "
            "routing_key: rk-1, min_severity: warning}\n"
            f"  - {{name: hook, type: generic, url: '{receiver.base_url}/hook', "
            "secret_env: VIGIL_TEST_WEBHOOK_SECRET, min_severity: info}\n")
        budgets = root / "budgets.yaml"
        budgets.write_text("budgets:\n  - {project: project-a, period: day, limit_usd: 0.01}\n")
        stack = Stack(root, broker.bootstrap, VIGIL_ANALYZER_INTERVAL_S="2",
                      VIGIL_ANALYZER_WINDOW_MINUTES="15", VIGIL_ANALYZER_HISTORY_DAYS="2",
                      VIGIL_NOTIFY_CONFIG_FILE=str(config), VIGIL_BUDGETS_FILE=str(budgets),
                      VIGIL_TEST_WEBHOOK_SECRET=SECRET.decode())
        try:
            stack.start("sink", "enrich", "ingest")
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            events = _history(now, minutes=2 * 1440, per_minute=3, slow_last=15)
            asyncio.run(_emit_all(stack.target, events))
            wait_until(lambda: stack.get("/v1/stats")["traces"] >= len(events), 300,
                       "the history stored")
            stack.start("analyze", "notify")
            firing = wait_until(lambda: (a := stack.get("/v1/alerts?status=firing")["alerts"])
                                and len(a) >= 2 and a, 180, "two firing alerts")
            by_signal = {a["signal"]: a for a in firing}
            assert set(by_signal) == {"latency_regression", "budget_exceeded"}
            assert by_signal["budget_exceeded"]["severity"] == "critical"
            alert = by_signal["latency_regression"]
            assert alert["slice"]["app"] == "checkout-bot"
            assert alert["value"] > 2 * alert["baseline"]
            pages = wait_until(lambda: len(p := receiver.delivered("/pd")) >= 2 and p, 60,
                               "the PagerDuty pages")
            assert {p.json["event_action"] for p in pages} == {"trigger"}
            assert alert["dedupe_key"] in {p.json["dedup_key"] for p in pages}
            hooks = wait_until(lambda: receiver.delivered("/hook"), 60, "the signed webhook")
            assert alert["dedupe_key"] in {h.json["dedupe_key"] for h in hooks}  # 2xx: signed
        finally:
            stack.stop()


def test_a_persistent_quality_drop_opens_exactly_one_ticket_with_its_dataset(
        tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> None:
    import json

    root = tmp_path_factory.mktemp("tickets")
    receiver = WebhookReceiver()
    receiver.start()
    stack = Stack(root, broker.bootstrap, VIGIL_JUDGE_RATE="1.0",
                  VIGIL_TICKET_WEBHOOK_URL=f"{receiver.base_url}/issues",
                  VIGIL_ANALYZER_INTERVAL_S="2", VIGIL_ANALYZER_WINDOW_MINUTES="15",
                  VIGIL_ANALYZER_HISTORY_DAYS="2", VIGIL_TICKET_PERSIST_WINDOWS="3")
    try:
        stack.start("sink", "enrich", "judge", "ingest")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        history = _history(now, minutes=2 * 1440, per_minute=3, slow_last=0)
        refusals = {e.event_id for e in history[-45:]}  # the last 15 minutes refuse
        for e in history[-45:]:
            e.completion = "I'm sorry, but I can't help with that request."
        other = [valid_event(90_000 + i, app="other-bot", model="gpt-4o",
                             completion="I'm sorry, but I can't help with that request.")
                 for i in range(20)]  # another slice's refusals stay out of the ticket
        asyncio.run(_emit_all(stack.target, history + other))
        wait_until(lambda: stack.get("/v1/stats")["traces"] >= len(history) + len(other),
                   300, "the history stored")
        wait_until(lambda: sum(r["judged"] for r in stack.get(
            "/v1/judge/sampling?group_by=app&hours=72")["slices"]) >= len(history), 300,
            "every trace judged")
        stack.start("analyze")
        [ticket] = wait_until(lambda: stack.get("/v1/tickets")["tickets"], 180, "a ticket")
        assert ticket["signal"] == "quality_drop" and ticket["status"] == "open"
        assert ticket["slice"]["app"] == "checkout-bot"
        # more cycles of the same problem update the ticket; they never open a second one
        wait_until(lambda: stack.get(f"/v1/tickets/{ticket['ticket_id']}")["updated_at"]
                   != ticket["updated_at"], 60, "the ticket updated by a later cycle")
        assert len(stack.get("/v1/tickets")["tickets"]) == 1

        jsonl = httpx.get(f"{stack.api_url}/v1/tickets/{ticket['ticket_id']}/dataset",
                          headers={"authorization": f"Bearer {KEY_A}"}, timeout=30).text
        lines = [json.loads(line) for line in jsonl.splitlines()]
        assert lines, "an empty dataset"
        for doc in lines:
            assert [m["role"] for m in doc["messages"]][-1] == "assistant"
            assert all(set(m) == {"role", "content"} for m in doc["messages"])
        detail = stack.get(f"/v1/tickets/{ticket['ticket_id']}")
        assert {e["event_id"] for e in detail["examples"]} <= refusals
        assert detail["after"]["judge_score_mean"] < detail["before"]["judge_score_mean"]
        acked = httpx.post(f"{stack.api_url}/v1/tickets/{ticket['ticket_id']}/acknowledge",
                           headers={"authorization": f"Bearer {KEY_A}"}, timeout=30)
        assert acked.json()["status"] == "acknowledged"
        [issue] = wait_until(lambda: receiver.delivered("/issues"), 30, "the ticket webhook")
        assert issue.json["title"].startswith("[Vigil]") and "checkout-bot" in issue.json["body"]
        assert issue.json["fields"]["summary"] == issue.json["title"]  # Jira shape too
    finally:
        stack.stop()
        receiver.stop()


def test_input_drift_is_reported_with_an_evidently_report(
        tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> None:
    root = tmp_path_factory.mktemp("drift")
    stack = Stack(root, broker.bootstrap, VIGIL_ANALYZER_INTERVAL_S="2",
                  VIGIL_ANALYZER_WINDOW_MINUTES="15", VIGIL_ANALYZER_HISTORY_DAYS="2",
                  VIGIL_ANALYZER_DRIFT_EVERY_CYCLES="1", VIGIL_DRIFT_MIN_SAMPLES="100")
    try:
        stack.start("sink", "enrich", "ingest")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        events = _history(now, minutes=1440, per_minute=3, slow_last=0)
        for e in events[-180:]:  # the last hour: long prompts about something else
            e.prompt[1].content = "Translate this legal contract clause into German " * 20
            e.input_tokens = 2500 + e.input_tokens
        asyncio.run(_emit_all(stack.target, events))
        wait_until(lambda: stack.get("/v1/stats")["traces"] >= len(events), 300,
                   "the history stored")
        stack.start("analyze")
        alerts = wait_until(lambda: [a for a in stack.get("/v1/alerts")["alerts"]
                                     if a["signal"] == "input_drift"], 180, "input drift")
        assert alerts[0]["slice"]["app"] == "checkout-bot"
        [report] = wait_until(lambda: [r for r in stack.get("/v1/drift/reports")["reports"]
                                       if r["drifted_features"]], 60, "a drift report")
        assert {"input_tokens", "prompt_text"} <= set(report["drifted_features"])
        assert "latency_ms" not in report["drifted_features"]
        html = httpx.get(f"{stack.api_url}/v1/drift/reports/{report['report_id']}/html",
                         headers={"authorization": f"Bearer {KEY_A}"}, timeout=30)
        assert html.status_code == 200 and "<html" in html.text.lower()
    finally:
        stack.stop()
