"""Fixtures of the notifier tests: alert events and a real local webhook receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.support.webhook_receiver import WebhookReceiver
from vigil.core.alerts import AlertEvent

SECRET = b"test-webhook-secret"


def make_alert(status: str = "firing", **overrides: Any) -> AlertEvent:
    """A latency alert of project-a (firing, or its resolution with the same dedupe key)."""
    base = AlertEvent(
        alert_id=str(uuid.uuid4()),
        dedupe_key="project-a:latency_regression:app=support-bot,model=gpt-4o",
        status="firing", severity="critical", project_id="project-a",
        signal="latency_regression",
        title="p95 latency of support-bot/gpt-4o is 3.2x normal",
        summary="p95 latency 4.1 s vs 1.3 s baseline over the last 15 min.",
        slice={"app": "support-bot", "model": "gpt-4o", "prompt_version": "",
               "environment": "prod"},
        value=4.1, baseline=1.3, threshold=2.6,
        started_at="2025-01-01T10:00:00+00:00", event_time="2025-01-01T10:00:05+00:00",
        links={"dashboard": "http://vigil.local/d/latency?project=project-a"},
    )
    if status == "resolved":
        base = replace(base, status="resolved", resolved_at="2025-01-01T10:30:00+00:00",
                       event_time="2025-01-01T10:30:00+00:00")
    return replace(base, **overrides)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secrets={"/generic": SECRET}) as server:
        yield server
