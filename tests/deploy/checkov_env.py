"""checkov in its own virtualenv (.venv-checkov): it pins an old `packaging` that breaks
pytest 9, so it never shares the project's .venv. Created once, cached by a stamp named
after the pinned version. `python -m tests.deploy.checkov_env` (make checkov-venv) makes
it ahead of time; the checkov tests make it on first use.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deploy.manifests import ROOT

CHECKOV = "checkov==3.3.30"
VENV = ROOT / ".venv-checkov"
STAMP = VENV / f".installed-{CHECKOV.replace('==', '-')}"
BLOCKING_SEVERITIES = frozenset({"HIGH", "CRITICAL"})


class CheckovUnavailableError(RuntimeError):
    """The checkov virtualenv could not be made (no registry?): a failure, never a skip."""


@dataclass(frozen=True, slots=True)
class Finding:
    check_id: str
    severity: str | None
    resource: str
    file: str
    name: str

    def __str__(self) -> str:
        return f"{self.check_id} [{self.severity}] {self.file} {self.resource}: {self.name}"


def ensure_checkov() -> Path:
    """The checkov executable, installing it into .venv-checkov when the stamp is missing.
    A lock beside the virtualenv lets one test worker build it while the others wait."""
    binary = VENV / "bin" / "checkov"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / ".venv-checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STAMP.exists() and binary.exists()):
            _build()
    return binary


def _build() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(VENV)],
             [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", CHECKOV]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CheckovUnavailableError(f"{' '.join(step)} took over 15 minutes") from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise CheckovUnavailableError(
                f"cannot create the checkov virtualenv {VENV} ({' '.join(step)} exited "
                f"{done.returncode}); the package registry must be reachable:\n{tail}")
    STAMP.touch()


def scan(directory: Path, frameworks: tuple[str, ...]) -> list[Finding]:
    """Every failed check checkov reports for the files of `directory` (offline run)."""
    done = subprocess.run(
        [str(ensure_checkov()), "--directory", str(directory), "--framework", *frameworks,
         "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600, check=False, cwd=directory)
    if done.returncode not in (0, 1):  # 1: some check failed
        raise RuntimeError(f"checkov exited {done.returncode}:\n{done.stderr[-3000:]}")
    reports: Any = json.loads(done.stdout)
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        if report["summary"].get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse: {report['results']['parsing_errors']}")
        for failed in report["results"]["failed_checks"]:
            findings.append(Finding(failed["check_id"], failed.get("severity"),
                                    failed["resource"], failed["file_path"],
                                    failed["check_name"]))
    return findings


def blocking(finding: Finding, skipped: dict[str, str]) -> bool:
    """HIGH or CRITICAL always blocks; without severities (no API key: null), every
    failed check blocks unless it is on the documented skip list."""
    if finding.severity is not None:
        return finding.severity.upper() in BLOCKING_SEVERITIES
    return finding.check_id not in skipped


if __name__ == "__main__":
    print(ensure_checkov())
