"""checkov over the rendered overlays (kubernetes) and the Dockerfile, offline.

Without a Prisma Cloud key checkov reports no severities; then every failed check
fails the test unless SKIPPED below says why it is accepted. A canary (a privileged root
pod and a root Dockerfile) goes through the same run and must be caught, so a checkov
that silently checks nothing fails too. A skip that no longer fires must be removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy.checkov_env import CheckovUnavailableError, Finding, blocking, scan
from tests.deploy.manifests import ROOT, Doc

SKIPPED = {
    "CKV_K8S_35": "Vigil reads its settings (pydantic-settings) and the notifier its webhook "
                  "secrets from environment variables; they come from the Secret by "
                  "secretKeyRef, one key per pod that needs it, never from the ConfigMap.",
    "CKV_K8S_43": "No image exists to take a digest from; prod pins a release tag. A release "
                  "pipeline pins the digest with `kustomize edit set image "
                  "vigil=REGISTRY/vigil@sha256:...`.",
    "CKV_DOCKER_2": "One image runs eight services with different health endpoints; "
                    "Kubernetes ignores HEALTHCHECK and every Deployment has its own probes.",
}

CANARY_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "canary", "namespace": "vigil"},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                             "securityContext": {"privileged": True, "runAsUser": 0}}]},
}
CANARY_DOCKERFILE = "FROM python:3.11-slim\nRUN pip install vigil\nENTRYPOINT [\"vigil\"]\n"


@pytest.fixture(scope="module")
def findings(rendered: dict[str, list[Doc]], tmp_path_factory: pytest.TempPathFactory
             ) -> list[Finding]:
    root: Path = tmp_path_factory.mktemp("checkov")
    (root / "overlays").mkdir()
    for overlay, docs in rendered.items():
        (root / "overlays" / f"{overlay}.yaml").write_text(yaml.safe_dump_all(docs))
    shutil.copy(ROOT / "Dockerfile", root / "Dockerfile")
    (root / "canary").mkdir()
    (root / "canary" / "pod.yaml").write_text(yaml.safe_dump(CANARY_POD))
    (root / "canary" / "Dockerfile").write_text(CANARY_DOCKERFILE)
    try:
        return scan(root, ("kubernetes", "dockerfile"))
    except CheckovUnavailableError as exc:
        pytest.fail(str(exc))


def ours(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if "/canary/" not in f.file]


@pytest.mark.timeout(1200)  # the first run creates .venv-checkov (about a minute)
def test_checkov_finds_nothing_blocking(findings: list[Finding]) -> None:
    blockers = [str(f) for f in ours(findings) if blocking(f, SKIPPED)]
    assert blockers == [], "\n".join(blockers)


@pytest.mark.timeout(1200)
def test_checkov_catches_the_canary(findings: list[Finding]) -> None:
    canary = {f.check_id for f in findings if "/canary/" in f.file}
    assert {"CKV_K8S_16", "CKV_K8S_23", "CKV_DOCKER_3"} <= canary  # privileged, root, no USER
    assert all(blocking(f, SKIPPED) for f in findings
               if "/canary/" in f.file and f.check_id in ("CKV_K8S_16", "CKV_DOCKER_3"))


@pytest.mark.timeout(1200)
def test_every_skip_is_still_needed(findings: list[Finding]) -> None:
    fired = {f.check_id for f in ours(findings)}
    assert set(SKIPPED) <= fired, f"no longer fires, remove from SKIPPED: {set(SKIPPED) - fired}"


def test_no_registry_is_a_clear_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.deploy import checkov_env

    venv = tmp_path / "venv"
    monkeypatch.setattr(checkov_env, "VENV", venv)
    monkeypatch.setattr(checkov_env, "STAMP", venv / ".installed")
    monkeypatch.setattr(checkov_env, "CHECKOV", str(tmp_path / "missing" / "checkov.whl"))
    with pytest.raises(CheckovUnavailableError, match="registry must be reachable"):
        checkov_env.ensure_checkov()
    assert not (venv / ".installed").exists()
