"""Payload builders and the webhook signature."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.unit.notify.conftest import SECRET, make_alert
from vigil.notify.payloads import (
    H_SIGNATURE,
    H_TIMESTAMP,
    PD_SUMMARY_MAX,
    decode_alert,
    generic_payload,
    pagerduty_payload,
    sign,
    signature_headers,
    slack_payload,
    verify,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "alerts.md"


def test_slack_firing_message_has_header_summary_fields_and_context() -> None:
    alert = make_alert()
    msg = slack_payload(alert)
    assert alert.title in msg["text"]
    kinds = [b["type"] for b in msg["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    header = msg["blocks"][0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    assert header["text"] == f":red_circle: {alert.title}"
    assert msg["blocks"][1]["text"]["text"] == alert.summary
    fields = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n", 1)[1]
              for f in msg["blocks"][2]["fields"]}
    assert fields == {"Project": "project-a",
                      "Slice": "app=support-bot, model=gpt-4o, environment=prod",
                      "Value": "4.1", "Baseline": "1.3", "Since": alert.started_at}
    assert len(msg["blocks"][2]["fields"]) <= 10
    context = msg["blocks"][3]["elements"][0]["text"]
    assert alert.dedupe_key in context and "|dashboard>" in context


def test_slack_resolved_message_says_so_and_links_back() -> None:
    msg = slack_payload(make_alert("resolved"))
    assert msg["text"].startswith("[RESOLVED]")
    assert msg["blocks"][0]["text"]["text"].startswith(":white_check_mark: Resolved:")
    assert "resolved" in msg["blocks"][1]["text"]["text"].lower()
    assert "<http://vigil.local/d/latency?project=project-a|dashboard>" in \
        msg["blocks"][3]["elements"][0]["text"]


@pytest.mark.parametrize("severity, emoji", [("critical", ":red_circle:"),
                                             ("warning", ":large_orange_circle:"),
                                             ("info", ":large_blue_circle:")])
def test_slack_header_emoji_per_severity(severity: Any, emoji: str) -> None:
    header = slack_payload(make_alert(severity=severity))["blocks"][0]["text"]["text"]
    assert header.startswith(emoji)


def test_slack_escapes_mrkdwn_and_truncates_the_header() -> None:
    msg = slack_payload(make_alert(summary="a < b & c > d", title="x" * 400))
    assert msg["blocks"][1]["text"]["text"] == "a &lt; b &amp; c &gt; d"
    assert len(msg["blocks"][0]["text"]["text"]) == 150


def test_pagerduty_trigger_and_resolve_share_the_dedup_key() -> None:
    firing, resolved = make_alert(), make_alert("resolved")
    trigger = pagerduty_payload(firing, "rk-1")
    resolve = pagerduty_payload(resolved, "rk-1")
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == firing.dedupe_key
    assert trigger["routing_key"] == resolve["routing_key"] == "rk-1"
    body = trigger["payload"]
    assert body["source"] == "vigil" and body["severity"] == "critical"
    assert body["summary"] == firing.title
    assert body["component"] == "app=support-bot, model=gpt-4o, environment=prod"
    assert body["custom_details"]["value"] == 4.1
    assert trigger["links"] == [{"href": firing.links["dashboard"], "text": "dashboard"}]


@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_pagerduty_severity_and_summary_limit(severity: Any) -> None:
    body = pagerduty_payload(make_alert(severity=severity, title="t" * 5000), "k")["payload"]
    assert body["severity"] == severity
    assert len(body["summary"]) == PD_SUMMARY_MAX


def test_generic_payload_is_the_alert_json_with_its_type() -> None:
    alert = make_alert()
    doc = generic_payload(alert)
    assert doc.pop("type") == "vigil.alert"
    assert doc == alert.to_json()


def test_decode_alert_round_trips_and_names_the_problem() -> None:
    alert = make_alert("resolved")
    assert decode_alert(orjson.dumps(alert.to_json())) == alert
    with pytest.raises(ValueError, match="not JSON"):
        decode_alert(b"{nope")
    with pytest.raises(ValueError, match="severity"):
        decode_alert(orjson.dumps({**alert.to_json(), "severity": "apocalyptic"}))
    with pytest.raises(ValueError, match="JSON object"):
        decode_alert(b"[1, 2]")


def test_sign_and_verify() -> None:
    body, now = b'{"a": 1}', 1_700_000_000
    headers = signature_headers(SECRET, body, now)
    ts, sig = headers[H_TIMESTAMP], headers[H_SIGNATURE]
    assert ts == str(now) and sig == f"sha256={sign(SECRET, ts, body)}"
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", sig)
    assert verify(SECRET, ts, body, sig, now=now + 10)
    assert verify(SECRET, ts, body, sig.removeprefix("sha256="), now=now)
    assert not verify(SECRET, ts, b'{"a": 2}', sig, now=now)         # tampered body
    assert not verify(b"other", ts, body, sig, now=now)               # wrong secret
    assert not verify(SECRET, str(now + 1), body, sig, now=now)       # other timestamp
    assert not verify(SECRET, ts, body, sig, now=now + 301)           # stale
    assert verify(SECRET, ts, body, sig, max_age_s=600, now=now + 301)
    assert not verify(SECRET, "yesterday", body, sig, now=now)


def _docs_snippet() -> Any:
    text = DOCS.read_text()
    found = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert found, "docs/alerts.md lost its verification snippet"
    scope: dict[str, Any] = {}
    exec(compile(found[1], str(DOCS), "exec"), scope)
    return scope["vigil_signature_ok"]


def test_the_docs_verification_snippet_agrees_with_verify() -> None:
    check = _docs_snippet()
    body = orjson.dumps(generic_payload(make_alert()))
    headers = signature_headers(SECRET, body)
    assert check(SECRET, headers, body)
    assert verify(SECRET, headers[H_TIMESTAMP], body, headers[H_SIGNATURE])
    assert not check(SECRET, headers, body + b" ")
    assert not check(b"wrong", headers, body)
    stale = signature_headers(SECRET, body, time.time() - 3600)
    assert not check(SECRET, stale, body)
    assert not verify(SECRET, stale[H_TIMESTAMP], body, stale[H_SIGNATURE])
