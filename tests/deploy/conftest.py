from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.manifests import OVERLAYS, Doc, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Doc]]:
    """Each overlay, rendered once per session."""
    workdir: Path = tmp_path_factory.mktemp("kustomize")
    return {overlay: render(overlay, workdir) for overlay in OVERLAYS}


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest, rendered: dict[str, list[Doc]]) -> list[Doc]:
    return rendered[request.param]
