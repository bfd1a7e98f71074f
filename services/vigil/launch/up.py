"""`vigil up`: the whole system on embedded defaults, as supervised child processes.

Start order: broker (unless KAFKA_BOOTSTRAP_SERVERS is set) -> topics -> sink
(owns the embedded store and serves the read API) -> enrich -> judge ->
ingest -> demo. With demo traffic (vigil.demo.stack): the demo's stand-in LLM judge
before the judge, and the analyzer only once the demo's back-filled history is stored.
Every port is a setting, checked free before anything starts.
Without VIGIL_INTERNAL_TOKEN the children get the secret kept in
VIGIL_DATA_DIR/internal-token (made on first run), which signs the internal records.

A child that exits is restarted with backoff (vigil.launch.restarts) while the
broker and the other children keep running. After VIGIL_UP_MAX_CRASHES of one
child inside VIGIL_UP_CRASH_WINDOW_S, `vigil up` gives up and stops as on
Ctrl-C. If the embedded broker dies, what it held in memory is gone: `vigil up`
says so and stops at once.

Stop order on Ctrl-C: demo -> ingest (drains its calls) -> wait until enrich,
judge and sink have committed everything -> enrich, judge, sink -> broker. A
second Ctrl-C stops at once.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from kafka.errors import KafkaError
from pydantic import SecretStr

from vigil.access.keyring import demo_key_enabled
from vigil.demo.stack import (
    BACKFILL_MINUTES,
    READY_FILE,
    demo_env,
    demo_judge_url,
    uses_demo_judge,
)
from vigil.kafka.broker import start_broker, wait_for_port
from vigil.kafka.lag import group_lag
from vigil.kafka.topics import Topics, ensure_topics
from vigil.launch.restarts import RestartPolicy
from vigil.launch.supervisor import Stack, Supervisor, exit_status, log, say
from vigil.runtime.logs import configure_logging
from vigil.settings import DEMO_API_KEY, Settings, redact_url

EMBEDDED_TIMEOUTS = {"VIGIL_KAFKA_SESSION_TIMEOUT_MS": "2000",
                     "VIGIL_KAFKA_HEARTBEAT_INTERVAL_MS": "500"}
DRAIN_TIMEOUT_S = 120
BROKER = "broker"  # the reason `_watch` returns when the embedded broker died
TOKEN_FILE = "internal-token"  # VIGIL_INTERNAL_TOKEN of `vigil up` when unset
DASHBOARD = Path(__file__).resolve().parents[3] / "dashboards" / "Home.py"


def run_all(settings: Settings, demo_rate: float) -> int:
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    embedded = not settings.external_kafka
    _check_ports(_ports(settings, embedded, demo_rate > 0))
    settings, env = _child_env(settings, embedded)
    if demo_rate > 0:
        env.update(demo_env(settings, env))
    with open(logs / "up.log", "a", encoding="utf-8") as up_log:
        configure_logging(settings.log_level, settings.log_format, "up", stream=up_log)
        return _run(settings, Stack(logs, env), demo_rate, embedded)


def _run(settings: Settings, stack: Stack, demo_rate: float, embedded: bool) -> int:
    broker = None
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: _second_interrupt() if stop.is_set() else stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if embedded:
            broker = _start_embedded_broker(settings, stack)
        _start_children(settings, stack, demo_rate, stop)
        _banner(settings, stack.logs, demo_rate)
        supervisor = Supervisor(stack, _policy(settings))
        reason = _watch(settings, supervisor, broker, stop)
        if reason == BROKER:
            _broker_lost(settings, broker)
            return 1
        if reason:
            say(f"gave up on {reason}: storing what the broker holds, then stopping")
        _shutdown(settings, supervisor, broker)
        return 1 if reason else 0
    finally:
        for name in list(stack.children):
            stack.stop(name, timeout=10)
        if broker is not None:
            broker.terminate()
            broker.wait(10)
            say("broker stopped")


def _policy(settings: Settings) -> RestartPolicy:
    return RestartPolicy(delay_s=settings.up_restart_delay_s,
                         max_delay_s=settings.up_restart_max_delay_s,
                         max_crashes=settings.up_max_crashes, window_s=settings.up_crash_window_s)


def _second_interrupt() -> None:
    say("second Ctrl-C: stopping at once (events not yet stored may be lost)")
    raise KeyboardInterrupt


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "0.0.0.0", int(port)  # ":port": every interface


def _ports(settings: Settings, embedded: bool, demo: bool = False) -> list[tuple[str, str]]:
    """(setting, host:port) of every port `vigil up` listens on."""
    wanted = [("VIGIL_INGEST_LISTEN", settings.ingest_listen),
              ("VIGIL_API_LISTEN", settings.api_listen)]
    if demo and uses_demo_judge(settings, {}):
        wanted.append(("VIGIL_DEMO_JUDGE_LISTEN", settings.demo_judge_listen))
    if settings.otlp_http_listen:
        wanted.append(("VIGIL_OTLP_HTTP_LISTEN", settings.otlp_http_listen))
    if embedded:
        wanted.append(("VIGIL_EMBEDDED_BROKER_LISTEN", settings.embedded_broker_listen))
    if settings.dashboard_listen and DASHBOARD.exists():
        wanted.append(("VIGIL_DASHBOARD_LISTEN", settings.dashboard_listen))
    return wanted


def _check_ports(wanted: list[tuple[str, str]]) -> None:
    seen: dict[int, str] = {}
    for var, address in wanted:
        host, port = _split(address)
        if port in seen:
            raise SystemExit(f"{var} and {seen[port]} both use port {port}: give each its own.")
        seen[port] = var
        if not _port_free(host, port):
            raise SystemExit(f"{address} ({var}) is already in use (another 'vigil up'?). "
                             f"Stop what holds it, or set {var} to a free host:port.")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _child_env(settings: Settings, embedded: bool) -> tuple[Settings, dict[str, str]]:
    """The environment of every child, and the settings that go with it: the embedded
    broker's address, the internal secret, the read API's URL from VIGIL_API_LISTEN and
    the dashboard's (for the links in alerts) from VIGIL_DASHBOARD_LISTEN, each unless
    set."""
    env = dict(settings.environ())
    if "VIGIL_API_KEY" not in env and demo_key_enabled(settings) and \
            _loopback(settings.dashboard_listen):
        env["VIGIL_API_KEY"] = DEMO_API_KEY  # the dashboard's: otherwise it asks for a key
    update: dict[str, object] = {}
    if not settings.internal_token.get_secret_value():
        token = env["VIGIL_INTERNAL_TOKEN"] = internal_token_of(settings.data_dir)
        update["internal_token"] = SecretStr(token)
    if embedded:
        update["kafka_bootstrap_servers"] = env["KAFKA_BOOTSTRAP_SERVERS"] = \
            settings.embedded_broker_listen
        for name, value in EMBEDDED_TIMEOUTS.items():
            env.setdefault(name, value)
    if "VIGIL_API_URL" not in env:
        host, port = _split(settings.api_listen)
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        scheme = "https" if settings.tls else "http"
        update["api_url"] = env["VIGIL_API_URL"] = f"{scheme}://{host}:{port}"
    if "VIGIL_DASHBOARD_URL" not in env and settings.dashboard_listen:
        host, port = _split(settings.dashboard_listen)  # alerts link to this dashboard
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        update["dashboard_url"] = env["VIGIL_DASHBOARD_URL"] = f"http://{host}:{port}"
    return settings.model_copy(update=update), env


def internal_token_of(data_dir: Path) -> str:
    """The internal secret kept in `<data_dir>/internal-token` (owner-only), made on first
    use. Kept rather than made per run: an external Kafka holds records signed by the
    last run, which the next run must still accept."""
    path = data_dir / TOKEN_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def _start_embedded_broker(settings: Settings, stack: Stack) -> subprocess.Popen[bytes]:
    host, port = _split(settings.embedded_broker_listen)
    say(f"starting the embedded broker on {host}:{port} (in memory)")
    proc = start_broker(host, port, stack.logs / "broker.log")
    log.info("broker_started", pid=proc.pid, listen=settings.embedded_broker_listen)
    return proc


def _start_children(settings: Settings, stack: Stack, demo_rate: float,
                    stop: threading.Event | None = None) -> None:
    ensure_topics(settings)
    stack.start("sink", "sink")
    _wait_api(settings, stack)
    stack.start("enrich", "enrich")
    if demo_rate > 0 and stack.env.get("VIGIL_JUDGE_LLM_BASE_URL") == demo_judge_url(settings):
        stack.start("demo-judge", "demo-judge")
    stack.start("judge", "judge")
    if demo_rate <= 0:
        stack.start("analyze", "analyze")
    if settings.notify_config_file is not None:
        stack.start("notify", "notify")
    stack.start("ingest", "ingest")
    host, port = _split(settings.ingest_listen)
    wait_for_port(host, port, timeout_s=60, proc=stack.children["ingest"])
    if settings.dashboard_listen and DASHBOARD.exists():
        host, port = _split(settings.dashboard_listen)
        stack.start("dashboard", "run", str(DASHBOARD), "--server.headless", "true",
                    "--server.address", host, "--server.port", str(port),
                    "--browser.gatherUsageStats", "false", module="streamlit")
    if demo_rate > 0:
        _start_demo(settings, stack, demo_rate, stop or threading.Event())


def _start_demo(settings: Settings, stack: Stack, demo_rate: float,
                stop: threading.Event) -> None:
    """The demo back-fills history first; the analyzer starts once that is stored, so its
    first cycle reads it (later cycles read only the last minutes)."""
    ready = settings.data_dir / READY_FILE
    ready.unlink(missing_ok=True)
    stack.start("demo", "demo", "--rate", str(demo_rate), "--backfill-minutes",
                str(BACKFILL_MINUTES), "--ready-file", str(ready))
    say(f"demo: sending {BACKFILL_MINUTES} minutes of history first")
    deadline = time.monotonic() + 900
    while not ready.exists() and time.monotonic() < deadline and not stop.is_set():
        if stack.dead():
            raise SystemExit(f"{stack.dead()} exited at start-up; see {stack.logs}")
        time.sleep(0.5)
    if ready.exists():
        sent = datetime.fromisoformat(ready.read_text(encoding="utf-8").strip())
        say("demo: history sent; waiting until it is judged and stored")
        while time.monotonic() < deadline and not stop.is_set():
            judged = _judged_until(settings)
            if judged is not None and judged >= sent.replace(second=0, microsecond=0):
                break
            time.sleep(2.0)
    stack.start("analyze", "analyze")


def _judged_until(settings: Settings) -> datetime | None:
    """The latest minute with stored judge scores (of the demo project), or None."""
    try:
        response = httpx.get(f"{settings.api_url}/v1/timeseries/quality", timeout=10,
                             params={"hours": 2, "interval": "minute"},
                             verify=settings.api_verify,
                             headers={"authorization": f"Bearer {DEMO_API_KEY}"})
        points = response.raise_for_status().json()["points"]
    except (httpx.HTTPError, KeyError, ValueError):
        return None
    minutes = [p["bucket"] for p in points if p.get("judgments")]
    return datetime.fromisoformat(max(minutes)).replace(tzinfo=UTC) if minutes else None


def _wait_api(settings: Settings, stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if stack.dead():
            raise SystemExit(f"{stack.dead()} exited at start-up; see {stack.logs}")
        try:
            if httpx.get(f"{settings.api_url}/health", timeout=2,
                         verify=settings.api_verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the read API did not come up at {settings.api_url}; see {stack.logs}")


def _banner(settings: Settings, logs: Path, demo_rate: float) -> None:
    demo_key = demo_key_enabled(settings)
    say(f"ingest (gRPC)   {settings.ingest_listen}" + (
        f"   API key: {DEMO_API_KEY} (project 'demo')" if demo_key else ""))
    if settings.dashboard_listen and DASHBOARD.exists():
        signed_in = _loopback(settings.dashboard_listen) and demo_key
        say(f"dashboard       http://{settings.dashboard_listen}" + (
            "   (signed in as project 'demo')" if signed_in else "   (asks for an API key)"))
    if demo_key:
        say("warning         the public demo key is on: anyone who reaches these ports can "
            "use it; set VIGIL_API_KEYS for real use")
    say(f"read API        {settings.api_url}   (try: {settings.api_url}/docs)")
    store = redact_url(settings.clickhouse_url) if settings.clickhouse_url else None
    say(f"store           {store or (settings.data_dir / 'clickhouse')}")
    say(f"logs            {logs}/   (this supervisor's: {logs}/up.log)")
    if demo_rate:
        say(f"demo traffic    {demo_rate:g} events/s")
    n = settings.up_max_crashes
    say(f"a service that exits is restarted; {n} crash{'es' if n > 1 else ''} of one in "
        f"{settings.up_crash_window_s:g} s stop everything")
    say("in another terminal: .venv/bin/vigil stats      Ctrl-C stops everything cleanly")


def _watch(settings: Settings, supervisor: Supervisor, broker: subprocess.Popen[bytes] | None,
           stop: threading.Event) -> str | None:
    """Supervise until Ctrl-C (None), the broker's death (BROKER) or a child given up on
    (its name)."""
    next_report = time.monotonic() + 10
    while not stop.wait(0.5):
        if broker is not None and broker.poll() is not None:
            return BROKER
        if given_up := supervisor.tick(time.monotonic()):
            return ", ".join(given_up)
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + 30
            _report(settings)
    return None


def _broker_lost(settings: Settings, broker: subprocess.Popen[bytes] | None) -> None:
    code = broker.returncode if broker is not None else None
    say(f"the embedded broker exited with code {exit_status(code)}. It held in memory every "
        "acknowledged event not yet stored: those events may be lost, and how many cannot be "
        "confirmed (their offsets went with it). Stopping everything.")
    log.error("broker_exited", exit_code=code, unconfirmed_events="unknown")
    _report(settings)


def _report(settings: Settings) -> None:
    try:
        response = httpx.get(f"{settings.api_url}/v1/stats", timeout=5,
                             verify=settings.api_verify,
                             headers={"authorization": f"Bearer {DEMO_API_KEY}"})
        s = response.raise_for_status().json()
        say(f"stored {s['traces']} traces, {s['feedback']} feedback, cost ${s['cost_usd']:.2f}")
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        say(f"stats unavailable: {exc}")


def _stage_topics(topics: Topics) -> dict[str, list[str]]:
    """The topics each draining stage consumes."""
    return {"enrich": [topics.traces_raw, topics.traces_app],
            "judge": [topics.traces_enriched],
            "sink": [topics.traces_enriched, topics.feedback, topics.judge_scores,
                     topics.judge_sampling, topics.spans, topics.call_logs]}


def _pending(settings: Settings, topics: Topics, stages: list[str]) -> int:
    """Records the stages have not committed yet, over every topic they consume."""
    return sum(group_lag(settings.kafka_bootstrap_servers, settings.group(stage), consumed)
               for stage, consumed in _stage_topics(topics).items() if stage in stages)


def _shutdown(settings: Settings, supervisor: Supervisor,
              broker: subprocess.Popen[bytes] | None) -> None:
    stack = supervisor.stack
    say("stopping: demo, then ingest")
    stack.stop("dashboard")
    stack.stop("demo")
    stack.stop("ingest")
    topics = Topics.from_settings(settings)
    say("waiting until every accepted event is stored")
    _drain(settings, supervisor, broker, topics)
    _report(settings)
    _report_stranded(settings, topics, sorted(stack.given_up & set(_stage_topics(topics))),
                     in_memory=broker is not None)
    for name in ("analyze", "notify", "enrich", "judge", "demo-judge", "sink"):
        stack.stop(name)


def _drain(settings: Settings, supervisor: Supervisor, broker: subprocess.Popen[bytes] | None,
           topics: Topics) -> None:
    """Wait until the stages still supervised have committed everything; crashed ones are
    still restarted meanwhile."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if broker is not None and broker.poll() is not None:
            _broker_lost(settings, broker)
            return
        supervisor.tick(time.monotonic())
        live = [s for s in _stage_topics(topics) if s not in supervisor.stack.given_up]
        try:
            lag = _pending(settings, topics, live)
        except KafkaError as exc:
            say(f"cannot reach the broker to confirm the drain ({exc}); stopping anyway")
            return
        if lag == 0:
            log.info("drained", stages=live)
            return
        time.sleep(0.5)
    say("could not confirm that everything was stored before the deadline")
    log.error("drain_timeout", timeout_s=DRAIN_TIMEOUT_S)


def _report_stranded(settings: Settings, topics: Topics, stages: list[str],
                     in_memory: bool) -> None:
    """What the stages given up on left unconsumed: it stays in the broker."""
    for stage in stages:
        try:
            lag = _pending(settings, topics, [stage])
        except KafkaError as exc:
            say(f"cannot count what {stage} left unconsumed ({exc})")
            continue
        lost = " and are lost when it stops" if in_memory else ""
        say(f"{lag} records {stage} did not consume (up to {settings.record_max_events} "
            f"events each) stay in the broker{lost}")
        log.error("stage_not_drained", stage=stage, records=lag)
