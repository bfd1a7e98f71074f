"""Links from an alert to the dashboard view of its slice and time (pure).

The notifier adds them to every alert it sends (Slack, PagerDuty, JSON webhooks) when
VIGIL_DASHBOARD_URL is set: the page of the alert's signal and the Alerts page, filtered
to the alert's app, model, prompt version and environment, over the smallest of the
dashboard's time ranges that shows the alert from its start with an hour before it.
The query parameters are the dashboard's own shared-link form (`?range=6h&app=...`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from vigil.core.alerts import AlertEvent

PAGE_OF_SIGNAL = {"cost_spike": "Cost", "budget_forecast": "Cost", "budget_exceeded": "Cost",
                  "quality_drop": "Quality", "negative_feedback": "Quality",
                  "input_drift": "Drift", "output_drift": "Drift"}
OTHER_SIGNALS_PAGE = "Traces"  # latency, errors, traffic, threshold rules
RANGES = ((timedelta(hours=1), "1h"), (timedelta(hours=6), "6h"), (timedelta(days=1), "24h"),
          (timedelta(days=7), "7d"), (timedelta(days=30), "30d"))
LEAD = timedelta(hours=1)  # the baseline before the alert, shown with it
SLICE_FIELDS = ("app", "model", "prompt_version", "environment")


def range_code(alert: AlertEvent) -> str:
    """The smallest dashboard range that holds the alert's start and an hour before."""
    start = datetime.fromisoformat(alert.started_at)
    shown = datetime.fromisoformat(alert.event_time) - start + LEAD
    return next((code for span, code in RANGES if shown <= span), RANGES[-1][1])


def dashboard_links(alert: AlertEvent, base_url: str) -> dict[str, str]:
    """{"dashboard": the signal's page, "alerts": the Alerts page}, both filtered to the
    alert's slice; nothing without a base URL."""
    if not base_url:
        return {}
    query = {"range": range_code(alert),
             **{k: alert.slice[k] for k in SLICE_FIELDS if alert.slice.get(k)}, "tz": "UTC"}
    tail = "?" + urlencode(query, quote_via=quote)
    base = base_url.rstrip("/")
    page = PAGE_OF_SIGNAL.get(alert.signal, OTHER_SIGNALS_PAGE)
    return {"dashboard": f"{base}/{page}{tail}", "alerts": f"{base}/Alerts{tail}"}


def with_links(alert: AlertEvent, base_url: str) -> AlertEvent:
    """The alert with its dashboard links added (links it already carries win)."""
    links = dashboard_links(alert, base_url)
    if not links:
        return alert
    return dataclasses.replace(alert, links={**links, **alert.links})
