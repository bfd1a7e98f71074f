"""The notifier SIGKILLed in the middle of a delivery, on the real broker with real HTTP
receivers: PagerDuty has the page, the signed webhook is down and being retried, the
record is not committed. The restarted notifier reads the record again, posts it to
the webhook that lacks it and not to PagerDuty; the resolve then reaches both once
(part of the reliability suite: `make chaos`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from tests.conftest import INTERNAL_TOKEN, Broker, Stack, wait_until
from tests.support.chaos import record_fault
from tests.support.webhook_receiver import WebhookReceiver
from tests.unit.notify.conftest import SECRET, make_alert
from vigil.core.alerts import AlertEvent
from vigil.kafka.signing import sign

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.fixture
def pagerduty() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secrets={"/hook": SECRET}) as server:
        yield server


def _publish(bootstrap: str, topic: str, alert: AlertEvent) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        value = orjson.dumps(alert.to_json())
        producer.send(topic, value, key=alert.dedupe_key.encode(),
                      headers=[sign(INTERNAL_TOKEN.encode(), value)]).get(30)
    finally:
        producer.close()


def _delivered_in_log(bootstrap: str, topic: str, alert_id: str, webhook: str) -> bool:
    """Whether the delivery log (read here with a plain consumer) says it was delivered."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=2000)
    try:
        for message in consumer:
            for line in (message.value or b"").split(b"\n"):
                doc = orjson.loads(line)
                if (doc["alert_id"], doc["webhook"], doc["outcome"]) == \
                        (alert_id, webhook, "delivered"):
                    return True
        return False
    finally:
        consumer.close()


def test_the_notifier_killed_mid_delivery_pages_once_per_receiver(
        tmp_path: Path, broker: Broker, pagerduty: WebhookReceiver,
        hook: WebhookReceiver) -> None:
    config = tmp_path / "notify.yaml"
    config.write_text(yaml.safe_dump({
        "max_attempts": 10_000, "backoff_initial_s": 0.1, "backoff_max_s": 0.3,
        "timeout_s": 5, "webhooks": [
            {"name": "pd", "type": "pagerduty", "url": f"{pagerduty.base_url}/pd",
             "routing_key": "rk"},
            {"name": "hook", "type": "generic", "url": f"{hook.base_url}/hook",
             "secret": SECRET.decode()}]}))
    stack = Stack(tmp_path, broker.bootstrap, VIGIL_NOTIFY_CONFIG_FILE=str(config))
    alerts, log = f"{stack.prefix}alerts", f"{stack.prefix}alert.deliveries"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="test-notify-kill")
    try:
        for name in (alerts, f"{alerts}.dlq", log):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, 2, 1)])
    finally:
        admin.close()
    key = f"project-a:latency_regression:app=bot-{uuid.uuid4().hex[:6]}"
    firing = make_alert(dedupe_key=key)
    resolved = make_alert("resolved", dedupe_key=key)
    hook.set_down(True)                       # connection refused: retried, not committed
    notifier = stack.service("notify")
    try:
        _publish(broker.bootstrap, alerts, firing)
        notifier.start()
        wait_until(lambda: pagerduty.delivered("/pd"), 90, "the page at PagerDuty")
        wait_until(lambda: _delivered_in_log(broker.bootstrap, log, firing.alert_id, "pd"),
                   60, "PagerDuty's delivery in the delivery log")
        notifier.kill()                       # SIGKILL while the webhook is still retried
        hook.set_down(False)
        notifier.start()
        [fired] = wait_until(lambda: hook.delivered("/hook"), 90,
                             "the alert at the webhook after the restart")
        assert fired.json["alert_id"] == firing.alert_id and fired.verified
        _publish(broker.bootstrap, alerts, resolved)
        wait_until(lambda: [r for r in hook.delivered("/hook") if r.json["status"] == "resolved"],
                   90, "the resolve at the webhook")
        wait_until(lambda: [r for r in pagerduty.delivered("/pd")
                            if r.json["event_action"] == "resolve"], 90,
                   "the resolve at PagerDuty")
    finally:
        notifier.stop()
    # every POST PagerDuty received (answered or not): the trigger once, the resolve once
    assert [(r.json["event_action"], r.json["dedup_key"]) for r in pagerduty.requests] == \
        [("trigger", key), ("resolve", key)]
    assert [r.json["status"] for r in hook.delivered("/hook")] == ["firing", "resolved"]
    assert set(pagerduty.delivery_counts().values()) == {1}
    assert set(hook.delivery_counts().values()) == {1}
    record_fault("notifier SIGKILLed mid-delivery (one webhook down)", sent=2, accepted=2,
                 stored=None, distinct=None, pagerduty_posts=len(pagerduty.requests),
                 webhook_deliveries=len(hook.delivered("/hook")))
