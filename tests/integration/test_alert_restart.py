"""The analyzer SIGKILLed while an alert fires, on real parts (broker, store, notifier
and a real HTTP receiver): the restarted analyzer takes the alert back from its alert
log, pages no one again while the problem lasts, and sends the one resolve when it
ends (part of the reliability suite: `make chaos`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import orjson
import pytest

from tests.chaos import record_fault
from tests.conftest import KEY_A, Broker, Service, Stack, wait_until
from tests.factories import ts, valid_event
from tests.webhook_receiver import WebhookReceiver
from vigil_protos.v1 import events_pb2 as pb
from vigil_protos.v1 import ingest_pb2, ingest_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
AUTH_A = (("authorization", f"Bearer {KEY_A}"),)
SECRET = b"webhook-secret"
PER_MINUTE = 10
WINDOW = 5
SLOW_MS, NORMAL_MS = 2400, 800


def _event(n: int, start: datetime, latency_ms: int) -> pb.TraceEvent:
    e = valid_event(n % PER_MINUTE, app="checkout-bot", model="gpt-4o", provider="openai")
    e.start_time.CopyFrom(ts(start))
    e.end_time.CopyFrom(ts(start + timedelta(milliseconds=latency_ms)))
    return e


def _history(now: datetime) -> list[pb.TraceEvent]:
    """A day of steady traffic, the last window slow (the alert fires at once)."""
    events = []
    for m in range(1440, 0, -1):
        for k in range(PER_MINUTE):
            latency = SLOW_MS if m <= WINDOW else NORMAL_MS + (m * 37 + k * 11) % 80
            events.append(_event(k, now - timedelta(minutes=m, seconds=-k * 6), latency))
    return events


async def _emit(target: str, events: list[pb.TraceEvent]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        for i in range(0, len(events), 1000):
            r = await stub.EmitBatch(ingest_pb2.EmitBatchRequest(events=events[i:i + 1000]),
                                     metadata=AUTH_A, timeout=60)
            assert r.accepted == len(events[i:i + 1000]), r.results[:1]


class LiveTraffic:
    """PER_MINUTE traces a minute at the current time, slow while `slow` is set."""

    def __init__(self, target: str) -> None:
        self.target, self.slow, self.stop = target, threading.Event(), threading.Event()
        self.slow.set()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, name="live-traffic", daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(60 / PER_MINUTE):
            latency = SLOW_MS if self.slow.is_set() else NORMAL_MS + n % 80
            asyncio.run(_emit(self.target, [_event(n, datetime.now(UTC), latency)]))
            n, self.sent = n + 1, self.sent + 1

    def __enter__(self) -> LiveTraffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def _log_lines(service: Service, since_byte: int, message: str) -> list[dict[str, object]]:
    text = service.log.read_bytes()[since_byte:].decode(errors="replace")
    out = []
    for line in text.splitlines():
        if message in line:
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return out


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secrets={"/hook": SECRET}) as server:
        yield server


@pytest.mark.timeout(1500)  # a day of history stored, then minutes of live traffic
def test_the_analyzer_killed_while_an_alert_fires_pages_once_and_resolves_once(
        tmp_path_factory: pytest.TempPathFactory, broker: Broker,
        receiver: WebhookReceiver) -> None:
    root = tmp_path_factory.mktemp("alert-restart")
    config = root / "notify.yaml"
    config.write_text(
        "backoff_initial_s: 0.2\nbackoff_max_s: 1\nwebhooks:\n"
        f"  - {{name: pd, type: pagerduty, url: '{receiver.base_url}/pd', "
        "routing_key: rk-1, min_severity: warning}\n"
        f"  - {{name: hook, type: generic, url: '{receiver.base_url}/hook', "
        f"secret: {SECRET.decode()}, min_severity: info}}\n")
    stack = Stack(root, broker.bootstrap, VIGIL_ANALYZER_INTERVAL_S="2",
                  VIGIL_ANALYZER_WINDOW_MINUTES=str(WINDOW), VIGIL_ANALYZER_HISTORY_DAYS="1",
                  VIGIL_DRIFT_MIN_SAMPLES="1000000", VIGIL_NOTIFY_CONFIG_FILE=str(config))
    try:
        stack.start("sink", "enrich", "ingest")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        history = _history(now)
        with LiveTraffic(stack.target) as live:   # from this minute on: no gap in traffic
            asyncio.run(_emit(stack.target, history))
            wait_until(lambda: stack.get("/v1/stats")["traces"] >= len(history), 300,
                       "the history stored")
            stack.start("analyze", "notify")

            def triggers() -> list[dict[str, object]]:
                return [r.json for r in receiver.delivered("/pd")
                        if r.json["event_action"] == "trigger"
                        and ":latency_regression:" in r.json["dedup_key"]]

            [trigger] = wait_until(triggers, 240, "the latency regression paged")
            key = trigger["dedup_key"]

            analyzer = stack.service("analyze")
            analyzer.kill()                       # SIGKILL while the alert fires
            restarted_at = analyzer.log.stat().st_size
            analyzer.start()
            restored = wait_until(lambda: _log_lines(analyzer, restarted_at,
                                                     "alert state restored"), 120,
                                  "the restarted analyzer's alert state")
            assert key in restored[0]["firing"]
            # three cycles of the restarted analyzer while the regression lasts: with the
            # state lost, the first of them would page again
            wait_until(lambda: len(_log_lines(analyzer, restarted_at, "analysis cycle")) >= 3,
                       120, "three cycles after the restart")
            live.slow.clear()                     # the regression ends
            resolved_at = time.monotonic()

            def resolves() -> list[dict[str, object]]:
                return [r.json for r in receiver.delivered("/pd")
                        if r.json["event_action"] == "resolve" and r.json["dedup_key"] == key]

            wait_until(resolves, 600, "the resolve at PagerDuty")
            hooks = wait_until(lambda: [r.json for r in receiver.delivered("/hook")
                                        if r.json["dedupe_key"] == key
                                        and r.json["status"] == "resolved"]
                               and [r.json for r in receiver.delivered("/hook")
                                    if r.json["dedupe_key"] == key], 60,
                               "the resolve at the signed webhook")
            cycles = len(_log_lines(analyzer, restarted_at, "analysis cycle"))

        pd = [r.json for r in receiver.delivered("/pd") if r.json["dedup_key"] == key]
        assert [e["event_action"] for e in pd] == ["trigger", "resolve"]
        assert [h["status"] for h in hooks] == ["firing", "resolved"]
        firing, resolve = hooks
        assert resolve["started_at"] == firing["started_at"]
        assert resolve["title"].startswith("Resolved after ")
        stored = wait_until(lambda: [a for a in stack.get("/v1/alerts")["alerts"]
                                     if a["dedupe_key"] == key and a["status"] == "resolved"]
                            and [a for a in stack.get("/v1/alerts")["alerts"]
                                 if a["dedupe_key"] == key], 60, "the resolve stored")
        assert sorted(a["status"] for a in stored) == ["firing", "resolved"]
        assert set(receiver.delivery_counts().values()) == {1}
        record_fault("analyzer SIGKILLed while an alert fires", sent=len(history) + live.sent,
                     accepted=len(history) + live.sent, stored=None, distinct=None,
                     pages=len(pd) - 1, resolves=1, cycles_after_restart=cycles,
                     resolve_s=round(time.monotonic() - resolved_at, 1))
    finally:
        stack.stop()
