"""The dashboard in a real headless Chromium, over a running stack with demo traffic:
every page opens without a traceback, its key numbers equal the read API's, a slice
filter narrows them, a ticket is acknowledged by a click, and each page is saved as a
screenshot under test-artifacts/screenshots/ (CI keeps the workspace)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import INTERNAL_TOKEN, KEY_A, Broker, Stack, free_port, wait_until
from vigil.kafka.signing import sign
from vigil.store.tables import TICKETS

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGES = {"Overview": "", "Cost": "Cost", "Quality": "Quality", "Alerts": "Alerts",
         "Tickets": "Tickets", "Traces": "Traces", "Drift": "Drift"}
TITLES = {"Overview": "Vigil — Overview"}
TICKET_ID = "browser-ticket-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, broker: Broker) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("browser")
    stack = Stack(root, broker.bootstrap)
    try:
        stack.start("sink", "enrich", "judge", "ingest")
        demo = subprocess.run(
            [sys.executable, "-m", "vigil", "demo", "--rate", "150", "--duration", "12",
             "--target", stack.target, "--key", KEY_A],
            env=stack.env, capture_output=True, timeout=120)
        assert demo.returncode == 0, demo.stderr.decode()[-2000:]
        _publish_ticket(stack)
        # Numbers are compared once everything sent is stored and judged: wait until still.
        last: list[Any] = [None]

        def settled() -> bool:
            now = (stack.get("/v1/stats")["traces"], len(stack.get("/v1/tickets")["tickets"]),
                   stack.get("/v1/scores?hours=24")["evaluators"])
            same, last[0] = now == last[0], now
            return same and now[0] > 500 and now[1] == 1

        def settled_slowly() -> bool:
            time.sleep(2)
            return settled()

        wait_until(settled_slowly, 180, "stored demo data")
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def dashboard(stack: Stack) -> Iterator[str]:
    port = free_port()
    env = {**stack.env, "VIGIL_API_KEY": KEY_A}
    log = open(stack.root / "dashboard.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboards" / "Home.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200,
                   60, "the dashboard")
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), (
            f"{path} is missing: run `make browser` (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1500,1100"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    try:
        yield driver
    finally:
        driver.quit()


def test_every_page_opens_without_a_traceback(browser: WebDriver, dashboard: str) -> None:
    for name, path in PAGES.items():
        open_page(browser, f"{dashboard}/{path}", TITLES.get(name, name))
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Traceback" not in body, f"{name}: {body[:2000]}"
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), name
        shot(browser, name)
    assert set(PAGES) <= {p.stem for p in SHOTS.glob("*.png") if p.stat().st_size > 10_000}


def test_overview_and_cost_numbers_equal_the_api(browser: WebDriver, dashboard: str,
                                                 stack: Stack) -> None:
    api = stack.get("/v1/overview?hours=24")["current"]
    open_page(browser, dashboard, TITLES["Overview"])
    shown = metrics(browser)
    assert shown["Traces"] == f"{api['traces']:,}"
    assert shown["Cost (USD)"] == f"${api['cost_usd']:,.4f}"
    assert shown["Error rate"] == f"{api['error_rate']:.1%}"
    open_page(browser, f"{dashboard}/Cost", "Cost")
    cost = metrics(browser)
    assert cost["Cost (USD)"] == f"${api['cost_usd']:,.4f}"
    assert cost["Input tokens"] == f"{api['input_tokens']:,}"


def test_trace_explorer_shows_the_newest_trace(browser: WebDriver, dashboard: str,
                                               stack: Stack) -> None:
    newest = stack.get("/v1/traces?hours=24&limit=1")["traces"][0]
    open_page(browser, f"{dashboard}/Traces", "Traces")
    assert f"Trace {newest['trace_id']}" in browser.find_element(By.TAG_NAME, "body").text
    shot(browser, "Traces-detail")
    # the trace reads as a chat: a bubble per turn with its role, then its session
    bubbles = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
    roles = [b.find_elements(By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]')[0].text
             .split(" · ")[0] for b in bubbles]  # each bubble's first caption names its role
    assert roles[:2] == ["system", "user"], roles
    assert "assistant" in roles and len(roles) >= 4, roles  # the trace's and the session's
    browser.execute_script("arguments[0].scrollIntoView();", bubbles[0])
    shot(browser, "Traces-chat")


def test_an_app_filter_narrows_the_numbers(browser: WebDriver, dashboard: str,
                                           stack: Stack) -> None:
    apps = stack.get("/v1/slices?hours=24")["app"]
    assert len(apps) >= 2, apps
    app = apps[0]
    expected = stack.get(f"/v1/overview?hours=24&app={app}")["current"]["traces"]
    total = stack.get("/v1/overview?hours=24")["current"]["traces"]
    assert 0 < expected < total
    open_page(browser, dashboard, TITLES["Overview"])
    choose(browser, "App", app)
    wait_until(lambda: metrics(browser).get("Traces") == f"{expected:,}", 30,
               f"Traces to show {expected:,} for app {app}")
    shot(browser, "Overview-filtered")


def test_acknowledging_a_ticket_by_click(browser: WebDriver, dashboard: str,
                                         stack: Stack) -> None:
    assert stack.get(f"/v1/tickets/{TICKET_ID}")["status"] == "open"
    open_page(browser, f"{dashboard}/Tickets", "Tickets")
    button = next(b for b in browser.find_elements(By.TAG_NAME, "button")
                  if b.text.strip() == "Acknowledge")
    button.click()
    wait_until(lambda: f"Ticket {TICKET_ID} is now acknowledged." in browser.find_element(
        By.TAG_NAME, "body").text, 30, "the acknowledgement message")
    assert stack.get(f"/v1/tickets/{TICKET_ID}")["status"] == "acknowledged"
    shot(browser, "Tickets-acknowledged")


# --- helpers -----------------------------------------------------------------------------

def open_page(driver: WebDriver, url: str, title: str) -> None:
    driver.get(url)
    wait_until(lambda: title in [h.text for h in driver.find_elements(By.TAG_NAME, "h1")],
               60, f"the {title!r} page")
    settle(driver)


def settle(driver: WebDriver, quiet_s: float = 1.5) -> None:
    """Wait until the script stopped running and the page stayed quiet for a moment."""
    quiet_since = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.2)
    raise TimeoutError("the page kept running")


def metrics(driver: WebDriver) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for m in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
            label = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text
            value = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text
            out[label.strip()] = value.strip()
    except StaleElementReferenceException:
        return {}
    return out


def choose(driver: WebDriver, label: str, option: str) -> None:
    """Pick `option` in the sidebar select box labelled `label`."""
    boxes = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] '
                                                  '[data-testid="stSelectbox"]')
    box = next(b for b in boxes if b.text.splitlines()[0].strip() == label)
    targets = box.find_elements(By.CSS_SELECTOR, '[role="combobox"], input, '
                                                 '[data-baseweb="select"]')
    assert targets, f"no clickable part in the {label!r} box: {box.get_attribute('innerHTML')}"
    targets[0].click()
    try:
        found = wait_until(lambda: [o for o in driver.find_elements(
            By.CSS_SELECTOR, '[role="option"]') if o.text.strip() == option], 10,
            f"option {option!r}")
    except AssertionError:
        options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, '[role="option"]')]
        raise AssertionError(f"{option!r} not among {options}; box: "
                             f"{box.get_attribute('innerHTML')[:3000]}") from None
    found[0].click()
    settle(driver)


def shot(driver: WebDriver, name: str) -> None:
    path = SHOTS / f"{name}.png"
    try:
        driver.save_screenshot(str(path))
    except WebDriverException as exc:
        raise AssertionError(f"screenshot of {name} failed: {exc}") from exc
    print(f"screenshot: {path.relative_to(ROOT)}")


def _publish_ticket(stack: Stack) -> None:
    """A retraining ticket on the tickets topic, as the analyzer writes them."""
    now = datetime.now(UTC).isoformat()
    ticket = {"project_id": "project-a", "updated_at": now, "version_id": "bv-1",
              "ticket_id": TICKET_ID, "dedupe_key": TICKET_ID, "status": "open",
              "signal": "quality_drop", "title": "Answers of the demo got worse",
              "description": "Mean judge score fell for an hour.", "slice": {"app": "demo"},
              "window_start": now, "window_end": now, "before": {"mean_score": "0.9"},
              "after": {"mean_score": "0.5"}, "drift_report": "{}",
              "examples": json.dumps([{"trace_id": "t", "event_id": "e",
                                       "prompt": [{"role": "user", "content": "hi"}],
                                       "completion": "bad", "score": 0.1,
                                       "feedback": "thumbs down", "start_time": now}]),
              "dataset_size": 1, "opened_at": now, "reopened": 0}
    assert set(ticket) == set(TICKETS.columns)
    producer = KafkaProducer(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    value = json.dumps(ticket).encode()  # signed, as the analyzer writes it
    producer.send(f"{stack.prefix}tickets", value,
                  headers=[sign(INTERNAL_TOKEN.encode(), value)]).get(30)
    producer.close()

