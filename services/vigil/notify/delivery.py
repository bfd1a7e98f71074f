"""Delivery of one alert to every webhook routed to it, with bounded retries.

Transient failures (connection errors, timeouts, 429 honouring Retry-After, 5xx) are
retried with exponential backoff and jitter up to `max_attempts`; any other non-2xx
answer is permanent. Every attempt is reported to `on_attempt` (the delivery log);
a delivery that ends `failed` is the caller's to dead-letter. Deliveries to one
webhook for one dedupe_key run one at a time in call order, so a resolve never
overtakes its trigger. Each POST carries `X-Vigil-Delivery-Id: <alert_id>:<webhook>`,
the same on every retry, for receivers to drop duplicates.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import orjson

from vigil.core.alerts import AlertEvent
from vigil.notify.config import NotifyConfig, Webhook, routes
from vigil.notify.payloads import (
    H_DELIVERY_ID,
    generic_payload,
    pagerduty_payload,
    signature_headers,
    slack_payload,
)
from vigil.runtime.logs import get_logger

log = get_logger(__name__)
Outcome = Literal["delivered", "retrying", "failed"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    alert_id: str
    dedupe_key: str
    webhook: str
    outcome: Literal["delivered", "failed"]
    attempts: int
    status: int | None  # the last HTTP status, None when there was no answer
    error: str  # why the last attempt did not deliver ("" when delivered)


def body_for(webhook: Webhook, alert: AlertEvent) -> bytes:
    if webhook.type == "slack":
        doc = slack_payload(alert)
    elif webhook.type == "pagerduty":
        assert webhook.routing_key is not None
        doc = pagerduty_payload(alert, webhook.routing_key.get_secret_value())
    else:
        doc = generic_payload(alert)
    return orjson.dumps(doc)


def retry_after_s(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None if absent."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class Deliverer:
    def __init__(self, config: NotifyConfig, *,
                 on_attempt: Callable[[dict[str, Any]], None] | None = None,
                 client: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 jitter: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._on_attempt = on_attempt or (lambda record: None)
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)
        self._own_client = client is None
        self._sleep, self._jitter, self._clock = sleep, jitter, clock
        self._chains: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def deliver(self, alert: AlertEvent, skip: Collection[str] = ()
                      ) -> list[DeliveryResult]:
        """Post the alert to every routed webhook (concurrently) but those named in
        `skip` (already delivered before a restart); one result per webhook posted."""
        return list(await asyncio.gather(*(self._in_order(w, alert)
                                           for w in routes(self.config, alert)
                                           if w.name not in skip)))

    async def _in_order(self, webhook: Webhook, alert: AlertEvent) -> DeliveryResult:
        key = (webhook.name, alert.dedupe_key)
        lock, users = self._chains.get(key, (asyncio.Lock(), 0))
        self._chains[key] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock is FIFO: call order is delivery order
                return await self._deliver_one(webhook, alert)
        finally:
            lock, users = self._chains[key]
            if users == 1:
                del self._chains[key]
            else:
                self._chains[key] = (lock, users - 1)

    async def _deliver_one(self, webhook: Webhook, alert: AlertEvent) -> DeliveryResult:
        body = body_for(webhook, alert)
        cfg = self.config
        status: int | None = None
        error = ""
        for attempt in range(1, cfg.max_attempts + 1):
            headers = {"Content-Type": "application/json", "User-Agent": "vigil-notify",
                       H_DELIVERY_ID: f"{alert.alert_id}:{webhook.name}"}
            if webhook.secret is not None:
                headers.update(signature_headers(webhook.secret.get_secret_value().encode(),
                                                 body, self._clock()))
            wait: float | None = None
            try:
                response = await self._client.post(webhook.url, content=body, headers=headers)
                status, error = response.status_code, ""
            except httpx.TransportError as exc:  # refused, reset, timed out: transient
                status, error = None, f"{type(exc).__name__}: {exc}"[:300]
                transient = True
            else:
                if 200 <= status < 300:
                    self._record(alert, webhook, attempt, status, "", "delivered")
                    return DeliveryResult(alert.alert_id, alert.dedupe_key, webhook.name,
                                          "delivered", attempt, status, "")
                error = f"HTTP {status}: {response.text[:200]}"
                transient = status == 429 or status >= 500
                if status == 429:
                    wait = retry_after_s(response.headers.get("Retry-After"), self._clock())
            if not transient or attempt == cfg.max_attempts:
                break
            if wait is None:
                backoff = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2 ** (attempt - 1))
                wait = backoff * (0.5 + self._jitter() / 2)
            wait = min(wait, cfg.backoff_max_s)
            self._record(alert, webhook, attempt, status, error, "retrying", wait)
            await self._sleep(wait)
        self._record(alert, webhook, attempt, status, error, "failed")
        log.warning("webhook delivery failed", webhook=webhook.name, alert_id=alert.alert_id,
                    dedupe_key=alert.dedupe_key, attempts=attempt, error=error)
        return DeliveryResult(alert.alert_id, alert.dedupe_key, webhook.name, "failed",
                              attempt, status, error)

    def _record(self, alert: AlertEvent, webhook: Webhook, attempt: int, status: int | None,
                error: str, outcome: Outcome, retry_in_s: float | None = None) -> None:
        self._on_attempt({
            "alert_id": alert.alert_id, "dedupe_key": alert.dedupe_key,
            "project_id": alert.project_id, "alert_status": alert.status,
            "webhook": webhook.name, "webhook_type": webhook.type, "attempt": attempt,
            "status_code": status, "error": error,
            "at": datetime.fromtimestamp(self._clock(), UTC).isoformat(),
            "outcome": outcome, "retry_in_s": retry_in_s,
        })
