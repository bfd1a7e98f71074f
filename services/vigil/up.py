"""`vigil up`: the whole system on embedded defaults, as child processes.

Start order: broker (unless KAFKA_BOOTSTRAP_SERVERS is set) -> topics -> sink
(owns the embedded store and serves the read API) -> enrich -> judge ->
ingest -> demo. Stop order on Ctrl-C: demo -> ingest (drains its calls) ->
wait until enrich, judge and sink have committed everything -> enrich, judge,
sink -> broker. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from kafka.errors import KafkaError

from vigil.kafka.broker import port_is_open, start_broker, wait_for_port
from vigil.kafka.lag import group_lag
from vigil.kafka.topics import Topics, ensure_topics
from vigil.settings import DEMO_API_KEY, Settings, redact_url

EMBEDDED_TIMEOUTS = {"VIGIL_KAFKA_SESSION_TIMEOUT_MS": "2000",
                     "VIGIL_KAFKA_HEARTBEAT_INTERVAL_MS": "500"}
DRAIN_TIMEOUT_S = 120


def say(message: str) -> None:
    print(f"vigil up | {message}", flush=True)


class Stack:
    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.env = dict(os.environ)
        self.env.setdefault("VIGIL_INTERNAL_TOKEN", secrets.token_urlsafe(24))
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, module: str = "vigil") -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        proc = subprocess.Popen([sys.executable, "-m", module, *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 30) -> None:
        proc = self.children.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in {timeout:.0f} s; killing it")
            proc.kill()
            proc.wait()

    def dead(self) -> list[str]:
        return [n for n, p in self.children.items() if p.poll() is not None]


def run_all(settings: Settings, demo_rate: float) -> int:
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(settings, logs)
    broker = None
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: _second_interrupt() if stop.is_set() else stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            broker = _start_embedded_broker(stack)
        settings = Settings(**{"kafka_bootstrap_servers": stack.env["KAFKA_BOOTSTRAP_SERVERS"]}
                            ) if broker else settings
        ensure_topics(settings)
        stack.start("sink", "sink")
        _wait_api(settings, stack)
        stack.start("enrich", "enrich")
        stack.start("judge", "judge")
        stack.start("analyze", "analyze")
        if settings.notify_config_file is not None:
            stack.start("notify", "notify")
        stack.start("ingest", "ingest")
        host, _, port = settings.ingest_listen.rpartition(":")
        wait_for_port(host, int(port), timeout_s=60, proc=stack.children["ingest"])
        if demo_rate > 0:
            stack.start("demo", "demo", "--rate", str(demo_rate))
        dashboard = Path(__file__).resolve().parents[2] / "dashboards" / "Home.py"
        if dashboard.exists():
            stack.env.setdefault("VIGIL_API_KEY", DEMO_API_KEY)
            stack.start("dashboard", "run", str(dashboard), "--server.headless", "true",
                        "--server.port", "8501", "--browser.gatherUsageStats", "false",
                        module="streamlit")
        _banner(settings, logs, demo_rate)
        _watch(settings, stack, stop)
        _shutdown(settings, stack)
        return 0
    finally:
        for name in list(stack.children):
            stack.stop(name, timeout=10)
        if broker is not None:
            broker.terminate()
            broker.wait(10)
            say("broker stopped")


def _second_interrupt() -> None:
    say("second Ctrl-C: stopping at once (events not yet stored may be lost)")
    raise KeyboardInterrupt


def _start_embedded_broker(stack: Stack) -> subprocess.Popen[bytes]:
    host, port = "127.0.0.1", 19092
    if port_is_open(host, port):
        raise SystemExit(f"something already listens on {host}:{port} (another 'vigil up'?). "
                         "Stop it, or set KAFKA_BOOTSTRAP_SERVERS to use a running Kafka.")
    say(f"starting the embedded broker on {host}:{port} (in memory)")
    proc = start_broker(host, port, stack.logs / "broker.log")
    stack.env["KAFKA_BOOTSTRAP_SERVERS"] = f"{host}:{port}"
    for name, value in EMBEDDED_TIMEOUTS.items():
        stack.env.setdefault(name, value)
    return proc


def _wait_api(settings: Settings, stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if stack.dead():
            raise SystemExit(f"{stack.dead()} exited at start-up; see {stack.logs}")
        try:
            if httpx.get(f"{settings.api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the read API did not come up at {settings.api_url}; see {stack.logs}")


def _banner(settings: Settings, logs: Path, demo_rate: float) -> None:
    say(f"ingest (gRPC)   {settings.ingest_listen}   API key: {DEMO_API_KEY} (project 'demo')")
    say("dashboard       http://127.0.0.1:8501")
    say(f"read API        {settings.api_url}   (try: {settings.api_url}/docs)")
    store = redact_url(settings.clickhouse_url) if settings.clickhouse_url else None
    say(f"store           {store or (settings.data_dir / 'clickhouse')}")
    say(f"logs            {logs}/")
    if demo_rate:
        say(f"demo traffic    {demo_rate:g} events/s")
    say("in another terminal: .venv/bin/vigil stats      Ctrl-C stops everything cleanly")


def _watch(settings: Settings, stack: Stack, stop: threading.Event) -> None:
    next_report = time.monotonic() + 10
    while not stop.wait(0.5):
        if dead := stack.dead():
            say(f"{', '.join(dead)} exited unexpectedly; see {stack.logs}; stopping")
            return
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + 30
            _report(settings)


def _report(settings: Settings) -> None:
    try:
        s = httpx.get(f"{settings.api_url}/v1/stats", timeout=5,
                      headers={"authorization": f"Bearer {DEMO_API_KEY}"}).json()
        say(f"stored {s['traces']} traces, {s['feedback']} feedback, cost ${s['cost_usd']:.2f}")
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        say(f"stats unavailable: {exc}")


def _pending(settings: Settings, topics: Topics) -> int:
    """Records the stages have not committed yet, over every topic they consume."""
    servers = settings.kafka_bootstrap_servers
    return (group_lag(servers, settings.group("enrich"), [topics.traces_raw, topics.traces_app])
            + group_lag(servers, settings.group("judge"), [topics.traces_enriched])
            + group_lag(servers, settings.group("sink"),
                        [topics.traces_enriched, topics.feedback, topics.judge_scores,
                         topics.judge_sampling, topics.spans]))


def _shutdown(settings: Settings, stack: Stack) -> None:
    say("stopping: demo, then ingest")
    stack.stop("dashboard")
    stack.stop("demo")
    stack.stop("ingest")
    topics = Topics.from_settings(settings)
    say("waiting until every accepted event is stored")
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and not stack.dead():
        try:
            lag = _pending(settings, topics)
        except KafkaError as exc:
            say(f"cannot reach the broker to confirm the drain ({exc}); stopping anyway")
            break
        if lag == 0:
            break
        time.sleep(0.5)
    else:
        say("could not confirm that everything was stored before the deadline")
    _report(settings)
    stack.stop("analyze")
    stack.stop("notify")
    stack.stop("enrich")
    stack.stop("judge")
    stack.stop("sink")
