"""Every dashboard page under Streamlit's AppTest, reading the real read API over real
HTTP from a seeded store: the numbers shown, empty states, an unreachable API, the
shared filters, trace paging and ticket actions."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.api_seed import DRIFT_HTML, KEY_A, KEY_EMPTY, ApiServer, Seeded, seeded_api
from vigil.core.budgets import Budget
from vigil.store.client import Store

ROOT = Path(__file__).resolve().parents[2] / "dashboards"
sys.path.insert(0, str(ROOT))

from api import ApiError, VigilApi  # noqa: E402

TIMEOUT = 60
PAGES = ["Home.py", "pages/1_Cost.py", "pages/2_Quality.py", "pages/3_Alerts.py",
         "pages/4_Tickets.py", "pages/5_Traces.py", "pages/6_Drift.py"]


@pytest.fixture(scope="module")
def seeded(store_dir: Path) -> Iterator[tuple[ApiServer, Seeded, Store]]:
    with seeded_api(store_dir, "dashboard_pages",
                    [Budget(project="alpha", period="month", limit_usd=100)]) as seeded:
        yield seeded


@pytest.fixture
def alpha(seeded: tuple[ApiServer, Seeded, Store], monkeypatch: pytest.MonkeyPatch
          ) -> ApiServer:
    monkeypatch.setenv("VIGIL_API_URL", seeded[0].url)
    monkeypatch.setenv("VIGIL_API_KEY", KEY_A)
    return seeded[0]


@pytest.fixture
def empty(seeded: tuple[ApiServer, Seeded, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_API_URL", seeded[0].url)
    monkeypatch.setenv("VIGIL_API_KEY", KEY_EMPTY)


@pytest.fixture
def api_down(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("VIGIL_API_URL", url)
    monkeypatch.setenv("VIGIL_API_KEY", KEY_A)
    return url


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.run()
    return at


def text(at: AppTest) -> str:
    """Everything a reader sees on the page, flattened to one string."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "success", "error", "text", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [e.value.to_string() for e in at.dataframe]
    parts += [str(e.value) for e in at.json]
    parts += [str(e.options) for e in at.selectbox]
    return "\n".join(parts)


def clean(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


# What each page must show for the seeded project (see tests/support/api_seed.py):
# 600 calls, 30 errors, 300 on m1 at $0.001 and 300 on m2 at $0.002, v1 scored ~0.9 and
# v2 ~0.6 by "helpfulness", one firing alert, one open ticket, one drift report.
EXPECTED = {
    "Home.py": ["Traces 600", "Cost (USD) $0.9000", "Error rate 5.0%", "60 sessions",
                "chat", "search"],
    "pages/1_Cost.py": ["Cost (USD) $0.9000", "Input tokens 6,000",
                        "alpha/all apps monthly budget", "m1", "m2"],
    "pages/2_Quality.py": ["helpfulness", "v1 is better", "Samples 300 / 300",
                           "Judged share by app", "3 eligible traces were skipped"],
    "pages/3_Alerts.py": ["Firing 1", "Quality dropped on chat", "mean score 0.60 vs 0.90"],
    "pages/4_Tickets.py": ["Quality of alpha", "scores fell", "Examples (1)"],
    "pages/5_Traces.py": ["a-tr-0599", "Trace a-tr-0599", "question number 599",
                          "Session a-sess-59", "Page 1 · 50 calls"],
    "pages/6_Drift.py": ["Drifted: prompt_tokens", "Per-feature drift over time"],
}
EMPTY = {
    "Home.py": "No traces in the last 24 hours",
    "pages/1_Cost.py": "No traffic in the last 24 hours",
    "pages/2_Quality.py": "No judge scores in the last 24 hours",
    "pages/3_Alerts.py": "No alerts yet: the analyzer",
    "pages/4_Tickets.py": "No tickets yet",
    "pages/5_Traces.py": "No traces match in the last 24 hours",
    "pages/6_Drift.py": "No drift reports",
}


@pytest.mark.parametrize("page", PAGES)
def test_page_shows_the_data(alpha: ApiServer, page: str) -> None:
    at = run(page)
    clean(at)
    shown = text(at)
    for expected in EXPECTED[page]:
        assert expected in shown, f"{expected!r} missing on {page}"


@pytest.mark.parametrize("page", PAGES)
def test_page_empty_state_says_what_to_do(empty: None, page: str) -> None:
    at = run(page)
    clean(at)
    assert EMPTY[page] in "\n".join(str(i.value) for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_page_unreachable_api_is_a_readable_error(api_down: str, page: str) -> None:
    at = run(page)
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "cannot reach the Vigil read API" in at.error[0].value
    assert api_down in at.error[0].value


def test_slice_filter_narrows_every_number(alpha: ApiServer) -> None:
    at = run("Home.py")
    box = next(b for b in at.sidebar.selectbox if b.label == "App")
    assert box.options == ["All", "chat", "search"]
    box.select("search").run()
    clean(at)
    assert "Traces 200" in text(at)  # every third call is the search app
    assert at.session_state["vigil_slice_app"] == "search"
    # The filter follows the reader to the next page.
    cost = AppTest.from_file(str(ROOT / "pages/1_Cost.py"), default_timeout=TIMEOUT)
    cost.session_state["vigil_slice_app"] = "search"
    cost.run()
    clean(cost)
    assert "app search" in text(cost)


def test_time_range_and_grouping_persist(alpha: ApiServer) -> None:
    at = run("Home.py")
    next(b for b in at.sidebar.selectbox if b.label == "Time range").select(
        "Last 7 days").run()
    next(b for b in at.sidebar.selectbox if b.label == "Group charts by").select(
        "model").run()
    clean(at)
    assert at.session_state["vigil_range"] == "Last 7 days"
    assert at.session_state["vigil_group_by"] == "model"


def test_trace_pages_older_and_newer(alpha: ApiServer) -> None:
    at = run("pages/5_Traces.py")
    at.button(key="vigil_older").click().run()
    clean(at)
    assert "Page 2 · 50 calls" in text(at)
    assert "a-tr-0549" in text(at)
    at.button(key="vigil_newer").click().run()
    assert "Page 1 · 50 calls" in text(at)


def test_a_trace_and_its_session_read_as_a_chat(alpha: ApiServer) -> None:
    at = run("pages/5_Traces.py")
    clean(at)
    names = [m.name for m in at.chat_message]
    # the trace: its question and answer; its session: ten calls, each question and answer
    assert names == ["user", "assistant"] * 11
    said = [m.markdown[0].value for m in at.chat_message if len(m.markdown)]
    assert said[:2] == ["question number 599", "answer 599"]
    assert said[2:4] == ["question number 590", "answer 590"]  # the session, oldest first
    assert "a-tr-0599" in [c.value for c in at.code]  # the id with a copy button
    assert any("**this trace**" in c.value for c in at.caption)


def test_trace_search_form(alpha: ApiServer) -> None:
    at = run("pages/5_Traces.py")
    at.text_input(key="vigil_q").input("refunds")
    at.button[0].click().run()  # the form's submit button
    clean(at)
    shown = text(at)
    assert "a-tr-0575" in shown and "a-tr-0599" not in shown


def test_ticket_acknowledge_then_refused(alpha: ApiServer) -> None:
    at = run("pages/4_Tickets.py")
    at.button(key="vigil_ack").click().run()
    assert not at.exception
    assert "Ticket ticket-alpha-1 is now acknowledged." in [s.value for s in at.success]
    assert at.button(key="vigil_ack").disabled
    at.button(key="vigil_resolve").click().run()
    assert "Ticket ticket-alpha-1 is now resolved." in [s.value for s in at.success]


def test_drift_page_embeds_the_evidently_html(alpha: ApiServer) -> None:
    at = run("pages/6_Drift.py")
    clean(at)
    frames = [e for e in at.main if getattr(e, "type", None) == "iframe"]
    assert len(frames) == 1
    assert DRIFT_HTML in str(frames[0].proto)


def test_client_wraps_api_errors(alpha: ApiServer) -> None:
    with pytest.raises(ApiError, match=r"401.*API key") as err:
        VigilApi(alpha.url, "wrong").stats()
    assert err.value.status == 401
    with pytest.raises(ApiError, match=r"404.*no ticket"):
        VigilApi(alpha.url, KEY_A).ticket_action("nope", "resolve")


def test_with_no_key_configured_the_dashboard_asks_for_one_and_shows_only_its_project(
        seeded: tuple[ApiServer, Seeded, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_API_URL", seeded[0].url)
    monkeypatch.delenv("VIGIL_API_KEY", raising=False)
    at = run("Home.py")
    assert "Sign in with your project's API key" in text(at)
    assert not at.metric  # nothing of any project before signing in

    at.text_input[0].input("not-a-key")
    at.button[0].click().run()
    assert "That key was not accepted." in text(at)
    assert not at.metric

    at.text_input[0].input(KEY_A)
    at.button[0].click().run()
    assert "Sign in with" not in text(at)
    assert {m.label for m in at.metric} >= {"Traces", "Cost (USD)"}


def test_a_shared_link_opens_the_same_view_and_the_url_follows_the_filters(
        alpha: ApiServer) -> None:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=TIMEOUT)
    at.query_params.update({"range": "7d", "app": "search", "tz": "Asia/Tokyo"})
    at.run()
    clean(at)
    assert at.session_state["vigil_range"] == "Last 7 days"
    assert "Traces 200" in text(at)  # the link's app filter narrows the numbers
    assert next(b for b in at.sidebar.selectbox if b.label == "Times in").value == \
        "Asia/Tokyo"
    next(b for b in at.sidebar.selectbox if b.label == "Group charts by").select(
        "model").run()
    assert at.query_params["group_by"] == "model"
    assert at.query_params["range"] == "7d" and at.query_params["app"] == "search"


def test_charts_have_a_24_hour_time_axis_that_names_the_zone(alpha: ApiServer) -> None:
    at = run("Home.py")
    clean(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4  # traces, errors, cost, latency
    for chart in charts:
        x = json.loads(chart.proto.spec)["encoding"]["x"]
        assert x["axis"]["labelExpr"] == "utcFormat(datum.value, '%H:%M')", x
        assert x["title"] == "time (UTC)"
