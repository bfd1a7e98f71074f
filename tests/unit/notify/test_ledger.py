"""The delivery ledger's pure parts: which deliveries a log record says were made, and
the Deliverer posting to none of the webhooks a restarted notifier names in `skip`."""

from __future__ import annotations

import asyncio

import orjson

from tests.support.webhook_receiver import WebhookReceiver
from tests.unit.notify.conftest import SECRET, make_alert
from vigil.notify.config import parse_notify_config
from vigil.notify.delivery import Deliverer
from vigil.notify.ledger import delivered_lines


def test_only_delivered_lines_count() -> None:
    lines = [{"alert_id": "a1", "webhook": "pd", "outcome": "delivered"},
             {"alert_id": "a1", "webhook": "hook", "outcome": "retrying"},
             {"alert_id": "a2", "webhook": "hook", "outcome": "failed"},
             {"alert_id": "a2", "webhook": "pd", "outcome": "delivered"}]
    value = b"\n".join([*(orjson.dumps(x) for x in lines), b"not json", b"[1]"])
    assert delivered_lines(value) == {("a1", "pd"), ("a2", "pd")}


def test_a_skipped_webhook_is_not_posted(receiver: WebhookReceiver) -> None:
    config = parse_notify_config({"webhooks": [
        {"name": "pd", "type": "pagerduty", "url": f"{receiver.base_url}/pd",
         "routing_key": "rk"},
        {"name": "generic", "type": "generic", "url": f"{receiver.base_url}/generic",
         "secret": SECRET.decode()}]}, environ={})

    async def deliver() -> list[str]:
        async with Deliverer(config) as deliverer:
            return [r.webhook for r in await deliverer.deliver(make_alert(), skip={"pd"})]

    assert asyncio.run(deliver()) == ["generic"]
    assert [r.path for r in receiver.requests] == ["/generic"]
