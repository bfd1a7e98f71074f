"""The child processes of `vigil up` and their supervisor.

`Stack` starts, restarts and stops `python -m ...` children, each with its own
log file. `Supervisor` is the thin adapter around the restart policy
(vigil.launch.restarts): on every `tick(now)` it notices dead children, asks the
policy, restarts the ones whose delay has passed and reports the ones it gave
up on. It says what it does on the terminal and in the structured log.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vigil.launch.restarts import GiveUp, History, Restart, RestartPolicy, on_crash
from vigil.runtime.logs import get_logger

log = get_logger("vigil.launch.up")


def say(message: str) -> None:
    print(f"vigil up | {message}", flush=True)


def exit_status(code: int | None) -> str:
    """'1', or '-9 (SIGKILL)' for a child killed by a signal."""
    if code is not None and code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


@dataclass(frozen=True, slots=True)
class Command:
    args: tuple[str, ...]
    module: str


class Stack:
    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, Command] = {}
        self.given_up: set[str] = set()

    def start(self, name: str, *args: str, module: str = "vigil") -> subprocess.Popen[bytes]:
        self.commands[name] = Command(args, module)
        return self._spawn(name)

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        return self._spawn(name)

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        command = self.commands[name]
        with open(self.logs / f"{name}.log", "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", command.module, *command.args],
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.children[name] = proc
        log.info("child_started", child=name, pid=proc.pid)
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


class Supervisor:
    """Restarts crashed children with backoff; gives up on one that crashes too often."""

    def __init__(self, stack: Stack, policy: RestartPolicy) -> None:
        self.stack = stack
        self.policy = policy
        self.histories: dict[str, History] = {}
        self.pending: dict[str, Restart] = {}

    def tick(self, now: float) -> list[str]:
        """Handle what happened since the last tick; the children given up on now."""
        given_up = [name for name in self.stack.dead()
                    if name not in self.pending and self._crashed(name, now)]
        for name, restart in list(self.pending.items()):
            if name not in self.stack.children:  # stopped on purpose meanwhile
                del self.pending[name]
            elif now >= restart.due:
                del self.pending[name]
                proc = self.stack.restart(name)
                say(f"{name} restarted (restart {restart.restart}, pid {proc.pid})")
        return given_up

    def _crashed(self, name: str, now: float) -> bool:
        """Decide on a crash; True when the child is given up on."""
        history, decision = on_crash(self.policy, self.histories.get(name, History()), now)
        self.histories[name] = history
        code = self.stack.children[name].returncode
        if isinstance(decision, GiveUp):
            self._give_up(name, code, decision)
            return True
        self.pending[name] = decision
        say(f"{name} exited with code {exit_status(code)}; restart {decision.restart} in "
            f"{decision.delay_s:g} s ({decision.recent_crashes} of {self.policy.max_crashes} "
            f"crashes allowed in {self.policy.window_s:g} s; see {self.stack.logs}/{name}.log)")
        log.warning("child_exited", child=name, exit_code=code, restart=decision.restart,
                    next_delay_s=decision.delay_s, crashes=decision.recent_crashes,
                    window_s=self.policy.window_s)
        return False

    def _give_up(self, name: str, code: int | None, decision: GiveUp) -> None:
        self.stack.children.pop(name)
        self.stack.given_up.add(name)
        n = decision.recent_crashes
        say(f"{name} exited with code {exit_status(code)}: {n} crash{'es' if n > 1 else ''} "
            f"in {decision.window_s:g} s; giving up on it (see {self.stack.logs}/{name}.log)")
        log.error("child_given_up", child=name, exit_code=code, crashes=n,
                  window_s=decision.window_s, restarts=self.histories[name].restarts)
