"""Pure payload builders of the notifier: an AlertEvent -> the JSON body of one webhook.

Slack (incoming webhook, Block Kit), PagerDuty (Events API v2) and a generic signed
JSON webhook. Generic deliveries carry `X-Vigil-Timestamp` and
`X-Vigil-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; `verify` is the
receiver's check (docs/alerts.md has the same logic as a copy-paste snippet).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from vigil.core.alerts import AlertEvent

H_TIMESTAMP = "X-Vigil-Timestamp"
H_SIGNATURE = "X-Vigil-Signature"
H_DELIVERY_ID = "X-Vigil-Delivery-Id"
PD_SUMMARY_MAX = 1024
_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:",
          "info": ":large_blue_circle:"}
_PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
_ALERT = TypeAdapter(AlertEvent)


def decode_alert(line: bytes | str) -> AlertEvent:
    """One JSON line -> AlertEvent; ValueError naming what is wrong."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError("an alert must be a JSON object")
    try:
        return _ALERT.validate_python(doc)
    except ValidationError as exc:
        raise ValueError(f"not an AlertEvent: {exc.error_count()} errors: "
                         + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                     for e in exc.errors()[:5])) from exc


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _slice_label(alert: AlertEvent) -> str:
    return ", ".join(f"{k}={v}" for k, v in alert.slice.items() if v) or "all"


def _esc(text: str) -> str:
    """Slack mrkdwn escaping of &, < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: AlertEvent) -> dict[str, Any]:
    """A Slack incoming-webhook message: header, summary, fields, context and links."""
    resolved = alert.status == "resolved"
    emoji = ":white_check_mark:" if resolved else _EMOJI.get(alert.severity, ":bell:")
    title = f"Resolved: {alert.title}" if resolved else alert.title
    fields = [("Project", alert.project_id), ("Slice", _slice_label(alert)),
              ("Value", _fmt(alert.value)), ("Baseline", _fmt(alert.baseline)),
              ("Since", alert.started_at)]
    if resolved:
        fields.append(("Resolved at", alert.resolved_at or alert.event_time))
    links = " · ".join(f"<{url}|{name}>" for name, url in alert.links.items())
    context = f"{alert.severity} · {alert.signal} · `{alert.dedupe_key}`"
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _truncate(f"{emoji} {title}", 150),
                  "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(
            ("*This alert is resolved.*\n" if resolved else "") + _esc(alert.summary or title),
            3000)}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{k}*\n{_truncate(_esc(v), 1900)}"} for k, v in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(
            context + (f" · {links}" if links else ""), 3000)}]},
    ]
    return {"text": _truncate(f"{'[RESOLVED]' if resolved else f'[{alert.severity.upper()}]'} "
                              f"{alert.title}", 3000),
            "blocks": blocks}


def pagerduty_payload(alert: AlertEvent, routing_key: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 event: trigger when firing, resolve when resolved, both
    with the alert's dedupe_key as dedup_key."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if alert.status == "resolved" else "trigger",
        "dedup_key": alert.dedupe_key,
        "client": "Vigil",
    }
    if alert.links:
        event["links"] = [{"href": url, "text": name} for name, url in alert.links.items()]
        event["client_url"] = next(iter(alert.links.values()))
    if event["event_action"] == "trigger":
        event["payload"] = {
            "summary": _truncate(alert.title, PD_SUMMARY_MAX),
            "source": "vigil",
            "severity": _PD_SEVERITY.get(alert.severity, "warning"),
            "timestamp": alert.started_at,
            "component": _slice_label(alert),
            "group": alert.project_id,
            "class": alert.signal,
            "custom_details": {
                "summary": alert.summary, "project_id": alert.project_id,
                "slice": alert.slice, "value": alert.value, "baseline": alert.baseline,
                "threshold": alert.threshold, "started_at": alert.started_at,
                "alert_id": alert.alert_id},
        }
    return event


def generic_payload(alert: AlertEvent) -> dict[str, Any]:
    """The alert's own JSON, tagged with its type."""
    return {"type": "vigil.alert", **alert.to_json()}


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `timestamp + "." + body`."""
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {H_TIMESTAMP: timestamp, H_SIGNATURE: f"sha256={sign(secret, timestamp, body)}"}


def verify(secret: bytes, timestamp: str, body: bytes, signature: str,
           max_age_s: float = 300, now: float | None = None) -> bool:
    """True when `signature` ("sha256=<hex>" or bare hex) signs this body at this timestamp
    and the timestamp is at most `max_age_s` from now (either way)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > max_age_s:
        return False
    given = signature.removeprefix("sha256=")
    return hmac.compare_digest(sign(secret, timestamp, body), given)
