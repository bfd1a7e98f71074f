"""Generate ``vigil_protos.v1`` from ``protos/vigil/v1/*.proto``, or check it is current.

    python sdk/generate_protos.py           # (re)write sdk/src/vigil_protos/v1 (make protos)
    python sdk/generate_protos.py --check   # exit 1 naming each stale file (make protos-check)

Needs grpcio-tools (the server's dev extra); the SDK itself ships the generated code.

protoc names a generated module after its .proto path: ``vigil/v1/events.proto``
becomes ``vigil.v1.events_pb2``, inside the server's ``vigil`` package. The .proto
files keep the path that matches their proto package (``vigil.v1``), and the code
is moved to ``vigil_protos.v1`` by rewriting the two places where it names its own
module path: the imports of its sibling modules and the module name handed to the
descriptor builder. Names on the wire (``vigil.v1.IngestService``,
``/vigil.v1.IngestService/Emit``) and the descriptors' file names are untouched.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
SOURCES = PROTOS / "vigil" / "v1"
OUT = ROOT / "sdk" / "src" / "vigil_protos" / "v1"
PACKAGE = "vigil_protos.v1"

_SIBLING_IMPORT = re.compile(r"^from vigil\.v1 import ", re.MULTILINE)
_MODULE_NAME = re.compile(r"'vigil\.v1\.(\w+_pb2)'")  # a module; not 'vigil.v1.IngestService'


def relocate(code: str) -> str:
    """Generated code for ``vigil.v1`` as code for :data:`PACKAGE`."""
    code = _SIBLING_IMPORT.sub(f"from {PACKAGE} import ", code)
    return _MODULE_NAME.sub(rf"'{PACKAGE}.\1'", code)


def generate() -> dict[str, str]:
    """File name -> content of every generated module and stub, relocated."""
    protos = sorted(str(p) for p in SOURCES.glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"--python_out={tmp}",
             f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", *protos],
            check=True)
        made = sorted((Path(tmp) / "vigil" / "v1").iterdir())
        return {path.name: relocate(path.read_text()) for path in made}


def committed() -> dict[str, str]:
    """The generated files now in :data:`OUT` (its hand-written ``__init__.py`` aside)."""
    return {path.name: path.read_text() for path in sorted(OUT.iterdir())
            if path.is_file() and "_pb2" in path.name}


def stale(wanted: dict[str, str], present: dict[str, str]) -> list[str]:
    """Names of the files that differ, are missing, or are left over."""
    names = sorted(set(wanted) | set(present))
    return [name for name in names if wanted.get(name) != present.get(name)]


def main(argv: list[str]) -> int:
    wanted = generate()
    present = committed()
    if "--check" in argv:
        differ = stale(wanted, present)
        for name in differ:
            print(f"stale generated code: {OUT.relative_to(ROOT) / name}; "
                  "run 'make protos' and commit")
        if differ:
            return 1
        print("generated protobuf code is up to date")
        return 0
    for name in set(present) - set(wanted):
        (OUT / name).unlink()
    for name, code in wanted.items():
        (OUT / name).write_text(code)
    print(f"wrote {len(wanted)} files to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
