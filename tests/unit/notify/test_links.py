"""Alert links to the dashboard view of the alert's slice and time: built from the base
URL, in the dashboard's own shared-link form (read back by its from_link), and carried by
every payload kind."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.unit.notify.conftest import make_alert
from vigil.notify.links import dashboard_links, range_code, with_links
from vigil.notify.payloads import generic_payload, pagerduty_payload, slack_payload

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "dashboards"))

from common import from_link

BASE = "https://vigil.example.com/"


def test_no_base_url_adds_no_links() -> None:
    alert = make_alert(links={})
    assert dashboard_links(alert, "") == {}
    assert with_links(alert, "") is alert


def test_the_links_open_the_signals_page_and_the_alerts_page_on_the_slice() -> None:
    links = dashboard_links(make_alert(links={}), BASE)
    assert links == {
        "dashboard": "https://vigil.example.com/Traces?range=6h&app=support-bot&model=gpt-4o"
                     "&environment=prod&tz=UTC",
        "alerts": "https://vigil.example.com/Alerts?range=6h&app=support-bot&model=gpt-4o"
                  "&environment=prod&tz=UTC"}
    query = dict(parse_qsl(urlsplit(links["dashboard"]).query))
    assert from_link(query) == {"vigil_range": "Last 6 hours", "vigil_zone": "UTC",
                                "vigil_slice_app": "support-bot",
                                "vigil_slice_model": "gpt-4o",
                                "vigil_slice_environment": "prod"}


@pytest.mark.parametrize(("signal", "page"), [
    ("cost_spike", "Cost"), ("budget_exceeded", "Cost"), ("quality_drop", "Quality"),
    ("negative_feedback", "Quality"), ("input_drift", "Drift"), ("error_burst", "Traces"),
])
def test_each_signal_links_to_its_page(signal: str, page: str) -> None:
    url = dashboard_links(make_alert(signal=signal), BASE)["dashboard"]
    assert urlsplit(url).path == f"/{page}"


@pytest.mark.parametrize(("started", "now", "code"), [
    ("2025-01-01T10:00:00+00:00", "2025-01-01T10:00:05+00:00", "6h"),   # 1 h lead: over 1h
    ("2025-01-01T10:00:00+00:00", "2025-01-01T14:59:00+00:00", "6h"),
    ("2025-01-01T10:00:00+00:00", "2025-01-01T15:01:00+00:00", "24h"),
    ("2025-01-01T10:00:00+00:00", "2025-01-03T10:00:00+00:00", "7d"),
    ("2025-01-01T10:00:00+00:00", "2025-03-01T10:00:00+00:00", "30d"),  # longest range
])
def test_the_range_holds_the_alert_from_an_hour_before_its_start(started: str, now: str,
                                                                 code: str) -> None:
    assert range_code(make_alert(started_at=started, event_time=now)) == code


def test_links_the_alert_carries_win_and_every_payload_has_them() -> None:
    alert = with_links(make_alert(), BASE)  # make_alert carries its own "dashboard" link
    assert alert.links["dashboard"] == "http://vigil.local/d/latency?project=project-a"
    assert alert.links["alerts"].startswith("https://vigil.example.com/Alerts?")
    slack = str(slack_payload(alert))
    assert "<https://vigil.example.com/Alerts?" in slack
    pd = pagerduty_payload(alert, "rk")
    assert {"href": alert.links["alerts"], "text": "alerts"} in pd["links"]
    assert generic_payload(alert)["links"] == alert.links
