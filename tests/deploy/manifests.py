"""Render the k8s/ overlays with kubectl's built-in kustomize and look into the result.

The prod overlay reads its Secret from `secrets.env`, which is never in git: it is
rendered from a copy of k8s/ where `secrets.env.example` stands in for it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30.0"  # the oldest minor the manifests must still fit

Doc = dict[str, Any]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise RuntimeError("kubectl is not installed: run `make kubectl` (CI's `make test` does)")
    return path


def render(overlay: str, workdir: Path) -> list[Doc]:
    """The documents `kubectl apply -k k8s/overlays/<overlay>` would send."""
    tree = workdir / f"k8s-{overlay}"
    shutil.copytree(K8S, tree)
    example = tree / "overlays" / overlay / "secrets.env.example"
    if example.exists():
        shutil.copy(example, example.with_name("secrets.env"))
    result = subprocess.run([kubectl(), "kustomize", str(tree / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in of_kind(docs, kind):
        if doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"no {kind} {name}")


def containers(deployment: Doc) -> list[Doc]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


def pod_labels(deployment: Doc) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"].get("labels", {}))


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def config_values(docs: list[Doc]) -> dict[str, str]:
    """The VIGIL_* environment every pod gets from the vigil-config ConfigMap."""
    config = [d for d in of_kind(docs, "ConfigMap")
              if d["metadata"]["name"].startswith("vigil-config")]
    assert len(config) == 1, "exactly one vigil-config ConfigMap"
    return dict(config[0]["data"])


def probes(container: Doc) -> Iterator[tuple[str, Doc]]:
    for name in ("readinessProbe", "livenessProbe", "startupProbe"):
        if name in container:
            yield name, container[name]
