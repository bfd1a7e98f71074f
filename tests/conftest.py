"""Shared fixtures: the real local broker, real service processes, polling helpers."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.polling import wait_until
from vigil.kafka.broker import start_broker, wait_for_port

_CHAOS_LINES: list[str] = []  # gathered from every test report: also a worker's under xdist


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test's fault records travel with its report, so the process that prints the
    summary (the xdist controller, or the one process) sees them."""
    from tests.support.chaos import RECORDED

    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    while RECORDED:
        report.user_properties.append(("chaos", RECORDED.pop(0).line()))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _CHAOS_LINES.extend(value for name, value in report.user_properties if name == "chaos")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The reliability suite's one line per fault, also without `-s`."""
    from tests.support.chaos import ARTIFACT

    if _CHAOS_LINES:
        terminalreporter.section("reliability suite (chaos)")
        for line in _CHAOS_LINES:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"written to {ARTIFACT}")

KEY_A, PROJECT_A = "test-key-a", "project-a"
KEY_B, PROJECT_B = "test-key-b", "project-b"
INTERNAL_TOKEN = "test-internal-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# How long a started process may take to answer. Generous on purpose: a stage imports
# chdb, faust, fastapi and friends before it listens, and on a machine whose cores are
# oversubscribed (seen: load average 18 on 2 cores) that took over 90 s.
STARTUP_S = 240


class Broker:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.bootstrap = f"127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_broker("127.0.0.1", self.port, self.log)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(free_port(), tmp_path_factory.mktemp("broker") / "broker.log")
    b.start()
    yield b
    b.kill()


class Service:
    """One `python -m vigil <command>` process with its own log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "vigil", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or commit anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Stack:
    """Ingest, enrich and sink (with its read API) on the shared broker, isolated by
    their own topic prefix, data directory and ports."""

    def __init__(self, root: Path, bootstrap: str, **overrides: str) -> None:
        self.root = root
        self.ingest_port, self.api_port, self.otlp_http_port = free_port(), free_port(), free_port()
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        self.scheme = "https" if "VIGIL_TLS_CERT_FILE" in overrides else "http"
        # a self-signed test certificate is its own CA
        self.ca_file = overrides.get("VIGIL_TLS_CERT_FILE")
        self.verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=self.ca_file)
                                              if self.ca_file else True)
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "VIGIL_TOPIC_PREFIX": self.prefix,
            "VIGIL_DATA_DIR": str(root / "data"),
            "VIGIL_INGEST_LISTEN": f"127.0.0.1:{self.ingest_port}",
            "VIGIL_API_LISTEN": f"127.0.0.1:{self.api_port}",
            "VIGIL_OTLP_HTTP_LISTEN": f"127.0.0.1:{self.otlp_http_port}",
            "VIGIL_API_URL": f"{self.scheme}://127.0.0.1:{self.api_port}",
            "VIGIL_API_KEYS": f"{KEY_A}={PROJECT_A},{KEY_B}={PROJECT_B}",
            "VIGIL_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "VIGIL_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "VIGIL_KAFKA_PARTITIONS": "4",
            "VIGIL_ACK_TIMEOUT_S": "3",
            "VIGIL_INTERNAL_TOKEN": INTERNAL_TOKEN,
            **overrides,
        }
        self.services: dict[str, Service] = {}

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.ingest_port}"

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.api_port}"

    def service(self, name: str) -> Service:
        if name not in self.services:
            self.services[name] = Service(name, [name], self.env, self.root / f"{name}.log")
        return self.services[name]

    def start(self, *names: str) -> Stack:
        """Start the services and wait until they answer; stop them all if one does not."""
        try:
            for name in names:
                self.service(name).start()
            if "sink" in names:
                self.wait_api()
            if "ingest" in names:
                wait_until(lambda: _port_open(self.ingest_port), STARTUP_S, "ingest port")
        except BaseException:
            self.stop()
            raise
        return self

    def wait_api(self) -> None:
        sink = self.service("sink")

        def healthy() -> bool:
            if sink.proc is not None and sink.proc.poll() is not None:
                raise RuntimeError(f"the sink exited:\n{sink.tail()}")
            return httpx.get(f"{self.api_url}/health", timeout=2,
                             verify=self.verify).status_code == 200

        wait_until(healthy, STARTUP_S, "the read API")

    def get(self, path: str, key: str = KEY_A) -> Any:
        response = httpx.get(f"{self.api_url}{path}", timeout=10, verify=self.verify,
                             headers={"authorization": f"Bearer {key}"})
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


def _port_open(port: int) -> bool:
    try:
        wait_for_port("127.0.0.1", port, timeout_s=0.2)
        return True
    except TimeoutError:
        return False


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one embedded-store directory this test process may open (chdb allows one per
    process); tests isolate themselves by database name."""
    return tmp_path_factory.mktemp("store")
