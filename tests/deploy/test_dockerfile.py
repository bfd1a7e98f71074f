"""The Dockerfile builds one non-root image whose command picks the service (it cannot
be built here: no docker engine; checkov scans it in test_checkov.py)."""

from __future__ import annotations

import re

from tests.deploy.manifests import ROOT, Doc, containers, of_kind

DOCKERFILE = (ROOT / "Dockerfile").read_text()
IGNORED = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
           if line and not line.startswith("#")]


def instructions(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)


def test_multi_stage_on_python_311_slim() -> None:
    stages = instructions("FROM")
    assert len(stages) == 2
    assert stages[0] == "python:3.11-slim AS builder" and stages[1] == "python:3.11-slim"
    assert "--from=builder /opt/venv /opt/venv" in instructions("COPY")


def test_runs_as_uid_10001_with_vigil_as_entrypoint() -> None:
    assert instructions("USER") == ["10001:10001"]
    assert instructions("ENTRYPOINT") == ['["vigil"]']
    assert "--uid 10001" in DOCKERFILE


def test_the_image_has_what_the_pods_run(rendered: dict[str, list[Doc]]) -> None:
    copies = instructions("COPY")
    assert "dashboards /app/dashboards" in copies
    commands = {c.get("command", ["vigil"])[0] for d in of_kind(rendered["prod"], "Deployment")
                for c in containers(d)}
    assert commands == {"vigil", "streamlit"}  # both console scripts of the venv on PATH
    assert "ENV PATH=/opt/venv/bin:$PATH" in DOCKERFILE


def test_the_build_context_is_an_allow_list() -> None:
    assert IGNORED[0] == "*"  # after the comment: everything is out unless allowed
    allowed = {line[1:].rstrip("/") for line in IGNORED if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "sdk", "services", "schemas", "dashboards"}
    sources = {src.rstrip("/") for c in instructions("COPY") if not c.startswith("--from")
               for src in c.split()[:-1]}
    assert sources <= allowed  # everything COPY needs is in the context, nothing else is
