"""A throwaway Vigil (local broker, ingest, enrich, sink with the embedded store) for
benchmarks, in its own temporary directory and on free ports."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vigil.kafka.broker import start_broker, wait_for_port

KEY = "bench-key"
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BenchStack:
    broker: subprocess.Popen[bytes]
    bootstrap: str
    ingest: str
    otlp_http: str
    api: str
    root: Path = Path()
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: str | None = None, **env: str) -> None:
        """Start `python -m vigil <command or name>` with extra environment, logging to
        <root>/<name>.log."""
        with open(self.root / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "vigil", command or name], env={**self.env, **env},
                stdout=log, stderr=subprocess.STDOUT)

    def wait_api(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.stored()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stored(self) -> int:
        r = httpx.get(f"{self.api}/v1/stats", headers={"authorization": f"Bearer {KEY}"},
                      timeout=30)
        return int(r.json()["traces"])

    def wait_stored(self, n: int, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while self.stored() < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.stored()} of {n} stored after {timeout_s} s")
            time.sleep(0.05)

    def pids(self) -> dict[str, int]:
        return {**{n: p.pid for n, p in self.procs.items()}, "broker": self.broker.pid}


@contextmanager
def bench_stack(services: tuple[str, ...] = ("sink", "enrich", "ingest")) -> Iterator[BenchStack]:
    """A fresh broker and `services` (waiting for ingest's port and the sink's API when
    they are among them); `BenchStack.start` adds more later."""
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    port, ingest, api, otlp = free_port(), free_port(), free_port(), free_port()
    broker = start_broker("127.0.0.1", port, root / "broker.log")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
           "VIGIL_DATA_DIR": str(root / "data"), "VIGIL_API_KEYS": f"{KEY}=bench",
           "VIGIL_INGEST_LISTEN": f"127.0.0.1:{ingest}", "VIGIL_API_LISTEN": f"127.0.0.1:{api}",
           "VIGIL_OTLP_HTTP_LISTEN": f"127.0.0.1:{otlp}",
           "VIGIL_KAFKA_SESSION_TIMEOUT_MS": "2000", "VIGIL_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
           "VIGIL_INTERNAL_TOKEN": secrets.token_urlsafe(24), "VIGIL_LOG_LEVEL": "WARNING"}
    stack = BenchStack(broker, f"127.0.0.1:{port}", f"127.0.0.1:{ingest}",
                       f"127.0.0.1:{otlp}", f"http://127.0.0.1:{api}", root, env)
    try:
        for name in services:
            stack.start(name)
        if "ingest" in services:
            wait_for_port("127.0.0.1", ingest, 60)
        if "sink" in services:
            stack.wait_api()
        yield stack
    finally:
        for p in stack.procs.values():
            p.terminate()
        for p in stack.procs.values():
            p.wait(30)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
