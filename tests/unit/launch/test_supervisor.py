"""The supervisor adapter on a driven clock, with fake children: what it restarts, when,
what it says, and the child it gives up on."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from vigil.launch.restarts import RestartPolicy
from vigil.launch.supervisor import Stack, Supervisor, exit_status


class FakeChild:
    _pids = iter(range(1000, 2000))

    def __init__(self) -> None:
        self.pid = next(self._pids)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class FakeStack(Stack):
    def __init__(self, logs: Path, *names: str) -> None:
        super().__init__(logs, {})
        self.spawned: list[str] = []
        for name in names:
            self.children[name] = self._fake(name)

    def _fake(self, name: str) -> Any:
        self.spawned.append(name)
        return FakeChild()

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        self.children[name] = self._fake(name)
        return self.children[name]


def _crash(stack: FakeStack, name: str, code: int = -9) -> None:
    stack.children[name].returncode = code  # type: ignore[misc]


@pytest.fixture
def stack(tmp_path: Path) -> FakeStack:
    return FakeStack(tmp_path, "sink", "enrich")


POLICY = RestartPolicy(delay_s=1.0, max_delay_s=4.0, max_crashes=3, window_s=60.0)


def test_a_crashed_child_is_restarted_once_its_delay_has_passed(
        stack: FakeStack, capsys: pytest.CaptureFixture[str]) -> None:
    supervisor = Supervisor(stack, POLICY)
    enrich = stack.children["enrich"]
    _crash(stack, "sink")
    assert supervisor.tick(10.0) == []
    assert supervisor.tick(10.9) == [] and stack.spawned == ["sink", "enrich"]
    assert supervisor.tick(11.0) == [] and stack.spawned == ["sink", "enrich", "sink"]
    assert stack.children["enrich"] is enrich  # the others keep running
    out = capsys.readouterr().out
    assert "sink exited with code -9 (SIGKILL); restart 1 in 1 s (1 of 3 crashes allowed" in out
    assert f"sink restarted (restart 1, pid {stack.children['sink'].pid})" in out


def test_it_gives_up_on_the_third_crash_in_the_window(stack: FakeStack,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    supervisor = Supervisor(stack, POLICY)
    for now, due in ((0.0, 1.0), (5.0, 7.0)):  # delays 1 s, then 2 s
        _crash(stack, "sink", code=1)
        assert supervisor.tick(now) == []
        assert supervisor.tick(due) == []
    _crash(stack, "sink", code=1)
    assert supervisor.tick(20.0) == ["sink"]
    assert "sink" not in stack.children and stack.given_up == {"sink"}
    assert stack.spawned.count("sink") == 3  # started, restarted twice, then left down
    assert supervisor.tick(100.0) == []  # told once
    assert "sink exited with code 1: 3 crashes in 60 s; giving up on it" in capsys.readouterr().out


def test_a_child_stopped_while_it_waits_for_its_restart_stays_stopped(stack: FakeStack) -> None:
    supervisor = Supervisor(stack, POLICY)
    _crash(stack, "enrich")
    supervisor.tick(0.0)
    stack.stop("enrich")
    assert supervisor.tick(5.0) == [] and "enrich" not in stack.children
    assert stack.spawned == ["sink", "enrich"]


@pytest.mark.parametrize(("code", "shown"), [(1, "1"), (0, "0"), (-9, "-9 (SIGKILL)"),
                                             (-15, "-15 (SIGTERM)"), (None, "None")])
def test_exit_status(code: int | None, shown: str) -> None:
    assert exit_status(code) == shown
