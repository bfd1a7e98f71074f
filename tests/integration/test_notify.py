"""The notifier in-process on the real broker, posting to a real local receiver."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from tests.conftest import INTERNAL_TOKEN, Broker, wait_until
from tests.support.webhook_receiver import WebhookReceiver
from tests.unit.notify.conftest import SECRET, make_alert
from vigil.kafka import topics as t
from vigil.kafka.signing import sign
from vigil.notify.payloads import verify
from vigil.notify.worker import H_WEBHOOK, run
from vigil.settings import Settings

pytestmark = pytest.mark.integration
SIGNING_KEY = INTERNAL_TOKEN.encode()  # the analyzer signs what it writes to the alerts topic


@pytest.fixture
def settings(broker: Broker) -> Settings:
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap,
                        topic_prefix=f"n{uuid.uuid4().hex[:8]}.", kafka_partitions=2,
                        kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500,
                        dashboard_url="https://vigil.example.com",
                        internal_token=INTERNAL_TOKEN)  # type: ignore[arg-type]
    t.ensure_topics(settings)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="test-notify")
    try:
        for name in ("alerts", "alerts.dlq", "alert.deliveries"):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(settings.topic(name), 2, 1)])
    finally:
        admin.close()
    return settings


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secrets={"/generic": SECRET, "/wrong-secret": b"not-ours"}) as server:
        yield server


def _config(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump({
        "max_attempts": 3, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5,
        "webhooks": [
            {"name": "pd", "type": "pagerduty", "url": f"{base}/pd", "routing_key": "rk"},
            {"name": "generic", "type": "generic", "url": f"{base}/generic",
             "secret": SECRET.decode()},
            {"name": "refused", "type": "generic", "url": f"{base}/wrong-secret",
             "secret": SECRET.decode()},
        ]}))
    return path


def _read_all(settings: Settings, topic: str, count: int) -> list[Any]:
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=30_000)
    try:
        got: list[Any] = []
        for message in consumer:
            got.append(message)
            if len(got) >= count:
                break
        return got
    finally:
        consumer.close()


def test_alerts_reach_the_webhooks_and_failures_the_dlq(settings: Settings,
                                                        receiver: WebhookReceiver,
                                                        tmp_path: Path) -> None:
    firing, resolved = make_alert(), make_alert("resolved")
    alerts = settings.topic("alerts")
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for alert in (firing, resolved):
        value = orjson.dumps(alert.to_json())
        producer.send(alerts, value, key=alert.dedupe_key.encode(),
                      headers=[sign(SIGNING_KEY, value)]).get(30)
    half = b'{"alert_id": "half an alert"}'
    bad = producer.send(alerts, half, partition=0, headers=[sign(SIGNING_KEY, half)]).get(30)
    producer.close()

    stop, errors = threading.Event(), []

    def work() -> None:
        try:
            run(settings, _config(tmp_path, receiver.base_url), stop)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work, name="notify", daemon=True)
    worker.start()
    try:
        def delivered() -> bool:
            if errors:
                raise RuntimeError(f"the worker died: {errors[0]!r}")
            return len(receiver.delivered("/pd")) == 2 and len(receiver.delivered("/generic")) == 2

        wait_until(delivered, 60, "both alerts at PagerDuty and the generic webhook")
        pd = [r.json for r in receiver.delivered("/pd")]
        assert [e["event_action"] for e in pd] == ["trigger", "resolve"]
        assert {e["dedup_key"] for e in pd} == {firing.dedupe_key}
        for request in receiver.delivered("/generic"):
            assert request.verified
            assert verify(SECRET, request.headers["X-Vigil-Timestamp"], request.body,
                          request.headers["X-Vigil-Signature"])
        assert [r.json["status"] for r in receiver.delivered("/generic")] == ["firing",
                                                                              "resolved"]
        view = ("https://vigil.example.com/Alerts?range=6h&app=support-bot&model=gpt-4o"
                "&environment=prod&tz=UTC")  # the alert's slice, from an hour before it
        for request in receiver.delivered("/generic"):
            assert request.json["links"]["alerts"] == view
        assert all({"href": view, "text": "alerts"} in e["links"] for e in pd
                   if e["event_action"] == "trigger")

        dead = _read_all(settings, t.dlq(alerts), 3)
        headers = [{k: v.decode() for k, v in d.headers} for d in dead]
        malformed = [(d, h) for d, h in zip(dead, headers, strict=True) if not h[H_WEBHOOK]]
        assert len(malformed) == 1
        message, h = malformed[0]
        assert message.value == b'{"alert_id": "half an alert"}'
        assert "not an AlertEvent" in h[t.H_REASON] and h[t.H_STAGE] == "notify"
        assert (h[t.H_SOURCE_PARTITION], h[t.H_SOURCE_OFFSET]) == ("0", str(bad.offset))
        refused = sorted(orjson.loads(d.value)["status"] for d, h in zip(dead, headers,
                                                                         strict=True)
                         if h[H_WEBHOOK] == "refused")
        assert refused == ["firing", "resolved"]
        assert all("HTTP 401" in h[t.H_REASON] for h in headers if h[H_WEBHOOK])

        log = [orjson.loads(line) for m in _read_all(settings, settings.topic("alert.deliveries"),
                                                     6) for line in m.value.split(b"\n")]
        outcomes = {(r["alert_id"], r["webhook"]): r["outcome"] for r in log}
        assert outcomes == {
            (firing.alert_id, "pd"): "delivered", (firing.alert_id, "generic"): "delivered",
            (firing.alert_id, "refused"): "failed", (resolved.alert_id, "pd"): "delivered",
            (resolved.alert_id, "generic"): "delivered",
            (resolved.alert_id, "refused"): "failed"}
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive() and not errors
    assert set(receiver.delivery_counts().values()) == {1}
