"""`vigil up` as a user runs it: a supervisor that restarts a SIGKILLed sink while the
broker keeps every acknowledged event, and whose ports are all settings, so two stacks
run side by side. One stack serves the module; the second starts only to stand beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KEY_A, PROJECT_A, _port_open, free_port, wait_until
from tests.support.chaos import record_fault
from tests.support.load import Load
from vigil.settings import DEMO_API_KEY

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
BANNER_END = "Ctrl-C stops everything cleanly"


class Up:
    """One `python -m vigil up --demo-rate 0` on free ports, its output in a file."""

    def __init__(self, root: Path, **overrides: str) -> None:
        self.root = root
        self.ports = {name: free_port() for name in
                      ("INGEST", "API", "OTLP_HTTP", "EMBEDDED_BROKER", "DASHBOARD")}
        self.env = {k: v for k, v in os.environ.items()
                    if k != "KAFKA_BOOTSTRAP_SERVERS" and not k.startswith("VIGIL_")}
        self.env.update({f"VIGIL_{name}_LISTEN": f"127.0.0.1:{port}"
                         for name, port in self.ports.items()})
        self.env.update({"VIGIL_DATA_DIR": str(root / "data"),
                         "VIGIL_API_KEYS": f"{KEY_A}={PROJECT_A},{DEMO_API_KEY}=demo",
                         "VIGIL_UP_RESTART_DELAY_S": "0.2",
                         "VIGIL_SINK_BATCH_SECONDS": "0.2", **overrides})
        self.output = root / "up.out"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:  # derived by `vigil up` from VIGIL_API_LISTEN
        return f"http://127.0.0.1:{self.ports['API']}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.ports['INGEST']}"

    def start(self) -> Up:
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "vigil", "up", "--demo-rate", "0"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.alive() and BANNER_END in self.text(), 180, "the banner")
        return self

    def alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"vigil up exited with {self.proc.returncode}:\n{self.text()}")
        return True

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def child_pid(self, name: str) -> int | None:
        """The pid of `vigil up`'s child running `python -m vigil <name>`, from /proc."""
        assert self.proc is not None
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            if ppid == self.proc.pid and argv[1:4] == [b"-m", b"vigil", name.encode()]:
                return int(stat.parent.name)
        return None

    def stats(self) -> Any:
        response = httpx.get(f"{self.api_url}/v1/stats", timeout=10,
                             headers={"authorization": f"Bearer {KEY_A}"})
        response.raise_for_status()
        return response.json()

    def stop(self, timeout: float = 150) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    stack = Up(tmp_path_factory.mktemp("up"))
    try:
        yield stack.start()
    finally:
        code = stack.stop()
    assert code == 0, stack.text()  # Ctrl-C: drained, then stopped cleanly
    assert "broker stopped" in stack.text()


def test_a_sigkilled_sink_is_restarted_and_every_acknowledged_event_stored_once(up: Up) -> None:
    first_sink = up.child_pid("sink")
    assert first_sink is not None, "no sink child of vigil up in /proc"
    load = Load(up.target, batches=80, size=100, pause_s=0.05).start()
    wait_until(lambda: load.acked >= 2000, 90, "2000 events acknowledged")
    assert wait_until(lambda: up.stats()["traces"], 90, "rows stored before the kill")
    os.kill(first_sink, signal.SIGKILL)
    acked_at_kill = load.acked

    restarted = wait_until(lambda: (pid := up.child_pid("sink")) not in (None, first_sink) and pid,
                           60, "a new sink process")
    wait_until(lambda: httpx.get(f"{up.api_url}/health", timeout=2).status_code == 200, 90,
               "the read API back")
    assert load.done.wait(120) and not load.errors, load.errors
    stats = wait_until(lambda: (s := up.stats())["traces"] >= load.acked and s, 120,
                       "every acknowledged event stored")

    record_fault("vigil up: sink SIGKILLed under load, restarted by the supervisor",
                 sent=load.sent, accepted=load.acked, stored=stats["traces"],
                 distinct=stats["distinct_event_ids"])
    assert up.alive() and restarted != first_sink
    assert acked_at_kill < load.acked == load.sent
    assert stats["traces"] == load.acked
    assert stats["distinct_event_ids"] == load.acked
    assert "sink exited with code -9 (SIGKILL); restart 1 in 0.2 s" in up.text()
    assert f"sink restarted (restart 1, pid {restarted})" in up.text()
    assert '"event": "child_exited"' in (up.root / "data" / "logs" / "up.log").read_text()


def test_a_second_stack_runs_beside_the_first_and_gives_up_on_a_crash_loop(
        up: Up, tmp_path_factory: pytest.TempPathFactory) -> None:
    second = Up(tmp_path_factory.mktemp("up-second"), VIGIL_UP_MAX_CRASHES="1")
    try:
        second.start()
        for stack in (up, second):
            assert httpx.get(f"{stack.api_url}/health", timeout=5).status_code == 200
            assert wait_until(lambda s=stack: _port_open(s.ports["DASHBOARD"]), 60,
                              "the dashboard port")
        load = Load(second.target, batches=1, size=10).start()
        assert load.done.wait(60) and load.acked == 10, load.errors
        wait_until(lambda: second.stats()["traces"] == 10, 60, "the second stack's events")
        judge = second.child_pid("judge")
        assert judge is not None
        os.kill(judge, signal.SIGKILL)  # one crash is the limit of this stack
        assert second.proc is not None
        code = second.proc.wait(150)
    finally:
        second.stop()
    out = second.text()
    assert code == 1, out
    assert "judge exited with code -9 (SIGKILL): 1 crash in 60 s; giving up on it" in out
    assert "gave up on judge: storing what the broker holds, then stopping" in out
    assert "records judge did not consume" in out and "broker stopped" in out
    assert up.alive() and up.stats()["traces"] != 10  # the first stack: its own store


def test_a_taken_port_is_refused_naming_its_setting(up: Up, tmp_path: Path) -> None:
    clash = Up(tmp_path)
    clash.env["VIGIL_DASHBOARD_LISTEN"] = up.env["VIGIL_DASHBOARD_LISTEN"]
    done = subprocess.run([sys.executable, "-m", "vigil", "up", "--demo-rate", "0"],
                          env=clash.env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "VIGIL_DASHBOARD_LISTEN" in done.stderr + done.stdout
