"""Delivery against a real local webhook receiver: signatures, retries, order, routing.

Backoffs are tiny; where waits matter the test records the requested sleeps instead of
timing anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from tests.support.chaos import chaos, record_fault
from tests.support.webhook_receiver import WebhookReceiver
from tests.unit.notify.conftest import SECRET, make_alert
from vigil.notify.config import NotifyConfig, parse_notify_config
from vigil.notify.delivery import Deliverer, DeliveryResult, retry_after_s
from vigil.notify.payloads import verify

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def config_for(base: str, *only: str, secret: bytes = SECRET, **policy: Any) -> NotifyConfig:
    hooks = [
        {"name": "pd", "type": "pagerduty", "url": f"{base}/pd", "routing_key": "rk-1",
         "min_severity": "critical"},
        {"name": "slack", "type": "slack", "url": f"{base}/slack",
         "projects": ["project-a"]},
        {"name": "generic", "type": "generic", "url": f"{base}/generic",
         "secret": secret.decode(), "min_severity": "info"},
    ]
    doc = {"webhooks": [h for h in hooks if not only or h["name"] in only],
           "backoff_initial_s": 0.001, "backoff_max_s": 0.01, "max_attempts": 5,
           "timeout_s": 5, **policy}
    return parse_notify_config(doc, environ={})


async def deliver_all(config: NotifyConfig, *alerts: Any, log: list[dict[str, Any]] | None = None,
                      **kw: Any) -> list[list[DeliveryResult]]:
    async with Deliverer(config, on_attempt=(log if log is not None else []).append,
                         **kw) as deliverer:
        return [await deliverer.deliver(a) for a in alerts]


def test_every_routed_webhook_gets_its_payload(receiver: WebhookReceiver) -> None:
    alert = make_alert()
    log: list[dict[str, Any]] = []
    [results] = run(deliver_all(config_for(receiver.base_url), alert, log=log))
    assert sorted((r.webhook, r.outcome, r.attempts) for r in results) == [
        ("generic", "delivered", 1), ("pd", "delivered", 1), ("slack", "delivered", 1)]
    got = {r.path: r for r in receiver.requests}
    assert set(got) == {"/pd", "/slack", "/generic"}
    assert got["/pd"].json["event_action"] == "trigger"
    assert got["/slack"].json["blocks"][0]["type"] == "header"
    assert got["/generic"].json["type"] == "vigil.alert"
    assert got["/generic"].json["alert_id"] == alert.alert_id
    for path, request in got.items():
        assert request.delivery_id == f"{alert.alert_id}:{path[1:]}"
    assert [(rec["webhook"], rec["outcome"], rec["status_code"])
            for rec in sorted(log, key=lambda r: r["webhook"])] == [
        ("generic", "delivered", 202), ("pd", "delivered", 202), ("slack", "delivered", 202)]
    assert all(rec["alert_id"] == alert.alert_id and rec["at"] for rec in log)


def test_the_receiver_verifies_the_generic_signature(receiver: WebhookReceiver) -> None:
    run(deliver_all(config_for(receiver.base_url, "generic"), make_alert()))
    [request] = receiver.requests
    assert request.verified is True and request.status == 202
    assert verify(SECRET, request.headers["X-Vigil-Timestamp"], request.body,
                  request.headers["X-Vigil-Signature"])
    assert not verify(SECRET, request.headers["X-Vigil-Timestamp"], request.body + b"x",
                      request.headers["X-Vigil-Signature"])


def test_a_wrong_secret_is_refused_and_not_retried(receiver: WebhookReceiver) -> None:
    config = config_for(receiver.base_url, "generic", secret=b"not-the-secret")
    [[result]] = run(deliver_all(config, make_alert()))
    assert (result.outcome, result.attempts, result.status) == ("failed", 1, 401)


def test_pagerduty_trigger_then_resolve_with_one_dedup_key(receiver: WebhookReceiver) -> None:
    firing, resolved = make_alert(), make_alert("resolved")
    run(deliver_all(config_for(receiver.base_url, "pd"), firing, resolved))
    events = [r.json for r in receiver.delivered("/pd")]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert {e["dedup_key"] for e in events} == {firing.dedupe_key}


def test_a_resolve_never_overtakes_its_trigger(receiver: WebhookReceiver) -> None:
    """Trigger and resolve handed over at once; the trigger's first tries fail."""
    receiver.fail_next(3, status=503)
    firing, resolved = make_alert(), make_alert("resolved")

    async def both() -> list[list[DeliveryResult]]:
        async with Deliverer(config_for(receiver.base_url, "pd")) as deliverer:
            return list(await asyncio.gather(deliverer.deliver(firing),
                                              deliverer.deliver(resolved)))

    results = run(both())
    assert [r[0].outcome for r in results] == ["delivered", "delivered"]
    assert results[0][0].attempts == 4
    actions = [r.json["event_action"] for r in receiver.requests]
    assert actions == ["trigger"] * 4 + ["resolve"]


def test_server_errors_are_retried(receiver: WebhookReceiver) -> None:
    receiver.fail_next(2, status=500)
    log: list[dict[str, Any]] = []
    [[result]] = run(deliver_all(config_for(receiver.base_url, "generic"), make_alert(),
                                 log=log))
    assert (result.outcome, result.attempts) == ("delivered", 3)
    assert [(r["attempt"], r["status_code"], r["outcome"]) for r in log] == [
        (1, 500, "retrying"), (2, 500, "retrying"), (3, 202, "delivered")]
    assert receiver.delivery_counts() == {result.alert_id + ":generic": 1}


def test_a_client_error_is_permanent(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, status=400)
    log: list[dict[str, Any]] = []
    [[result]] = run(deliver_all(config_for(receiver.base_url, "slack"), make_alert(), log=log))
    assert (result.outcome, result.attempts, result.status) == ("failed", 1, 400)
    assert "HTTP 400" in result.error
    assert [r["outcome"] for r in log] == ["failed"]
    assert len(receiver.requests) == 1


def test_after_the_last_try_the_delivery_fails(receiver: WebhookReceiver) -> None:
    receiver.fail_next(10, status=502)
    log: list[dict[str, Any]] = []
    [[result]] = run(deliver_all(config_for(receiver.base_url, "slack", max_attempts=3),
                                 make_alert(), log=log))
    assert (result.outcome, result.attempts, result.status) == ("failed", 3, 502)
    assert [r["outcome"] for r in log] == ["retrying", "retrying", "failed"]
    assert len(receiver.requests) == 3


def test_429_waits_as_told_by_retry_after(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, status=429, retry_after="7")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    config = config_for(receiver.base_url, "slack", backoff_max_s=60)
    [[result]] = run(deliver_all(config, make_alert(), sleep=sleep))
    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert waits == [7.0]


def test_backoff_doubles_with_jitter_and_is_capped(receiver: WebhookReceiver) -> None:
    receiver.fail_next(5, status=500)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    config = config_for(receiver.base_url, "slack", backoff_initial_s=1, backoff_max_s=5,
                        max_attempts=6)
    run(deliver_all(config, make_alert(), sleep=sleep, jitter=lambda: 1.0))
    assert waits == [1, 2, 4, 5, 5]
    waits.clear()
    receiver.fail_next(2, status=500)
    run(deliver_all(config, make_alert(), sleep=sleep, jitter=lambda: 0.0))
    assert waits == [0.5, 1.0]


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert retry_after_s("3", now) == 3.0
    assert retry_after_s(None, now) is None
    assert retry_after_s("soon", now) is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert retry_after_s(http_date, now) == pytest.approx(30)


@chaos
def test_a_receiver_down_for_a_while_gets_everything_once(receiver: WebhookReceiver) -> None:
    alerts = [make_alert(), make_alert("resolved"), make_alert(severity="info")]
    config = config_for(receiver.base_url, max_attempts=10_000)
    log: list[dict[str, Any]] = []

    async def outage() -> list[list[DeliveryResult]]:
        receiver.set_down(True)
        async with Deliverer(config, on_attempt=log.append) as deliverer:
            task = asyncio.gather(*(deliverer.deliver(a) for a in alerts))
            deadline = time.monotonic() + 30
            while sum(r["outcome"] == "retrying" for r in log) < 20:  # down for a while
                assert time.monotonic() < deadline, "no retries while the receiver is down"
                await asyncio.sleep(0.01)
            await asyncio.to_thread(receiver.set_down, False)
            return list(await task)

    results = [r for per_alert in run(outage()) for r in per_alert]
    assert all(r.outcome == "delivered" for r in results)
    assert any(r.attempts > 1 for r in results)
    expected = {f"{r.alert_id}:{r.webhook}" for r in results}
    assert len(expected) == 7  # pd and slack get the two critical ones, generic all three
    counts = receiver.delivery_counts()
    record_fault("webhook receiver down, then back", sent=len(expected),
                 accepted=sum(r.outcome == "delivered" for r in results),
                 stored=sum(counts.values()), distinct=len(counts),
                 retries=sum(r["outcome"] == "retrying" for r in log))
    assert set(counts) == expected and set(counts.values()) == {1}
    assert any(r["status_code"] is None and r["error"] for r in log)
    pd = [r.json["event_action"] for r in receiver.delivered("/pd")]
    assert pd == ["trigger", "resolve"]


def test_nothing_routed_nothing_sent(receiver: WebhookReceiver) -> None:
    [results] = run(deliver_all(config_for(receiver.base_url, "pd", "slack"),
                                make_alert(severity="info", project_id="project-b")))
    assert results == [] and receiver.requests == []
