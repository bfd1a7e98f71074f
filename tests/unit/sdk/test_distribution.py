"""The SDK is its own light distribution (sdk/): grpcio and protobuf, nothing of the server.

Standard library only, so it also runs in a virtualenv that holds just the SDK."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SDK = ROOT / "sdk"


def _project(pyproject: Path) -> dict[str, object]:
    return tomllib.loads(pyproject.read_text())["project"]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_sdk_depends_on_grpcio_and_protobuf_only() -> None:
    project = _project(SDK / "pyproject.toml")
    assert project["name"] == "vigil-sdk"
    dependencies = project["dependencies"]
    assert isinstance(dependencies, list)
    assert sorted(_name(d) for d in dependencies) == ["grpcio", "protobuf"]
    assert "optional-dependencies" not in project


def test_nothing_under_sdk_imports_the_server() -> None:
    sources = sorted(SDK.rglob("*.py"))
    assert SDK / "src" / "vigil_sdk" / "client.py" in sources
    assert SDK / "src" / "vigil_protos" / "v1" / "ingest_pb2_grpc.py" in sources
    importers = {str(p.relative_to(ROOT)): sorted(_imported_roots(p) & {"vigil", "tests"})
                 for p in sources}
    assert {path: roots for path, roots in importers.items() if roots} == {}


def test_the_sdk_imports_only_the_standard_library_grpc_and_protobuf() -> None:
    sources = sorted((SDK / "src").rglob("*.py"))
    roots = set().union(*(_imported_roots(p) for p in sources))
    ours = {"vigil_sdk", "vigil_protos", "grpc", "google", "__future__"}  # google: protobuf
    assert {r for r in roots - ours if r not in sys.stdlib_module_names} == set()


def test_the_server_uses_the_sdk_distribution_not_a_copy() -> None:
    server = _project(ROOT / "pyproject.toml")
    dependencies = server["dependencies"]
    assert isinstance(dependencies, list)
    assert "vigil-sdk @ {root:uri}/sdk" in dependencies
    package = ROOT / "services" / "vigil"
    # (an old checkout may keep an untracked __pycache__ there: only sources count)
    assert sorted((package / "sdk").glob("*.py")) == []
    assert sorted((package / "v1").glob("*.py")) == []
    assert sorted(p.name for p in (ROOT / "services").rglob("*_pb2*.py")) == []
