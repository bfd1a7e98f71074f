"""sdk/generate_protos.py moves protoc's vigil.v1 code to vigil_protos.v1, wire names kept."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "sdk" / "generate_protos.py"
# protoc's package, spelled apart so that the vigil.v1 import rewrite (see git log) passes by
PROTOC = ".".join(["vigil", "v1"])


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_protos", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("generated", "relocated"), [
    (f"from {PROTOC} import events_pb2 as vigil_dot_v1_dot_events__pb2\n",
     "from vigil_protos.v1 import events_pb2 as vigil_dot_v1_dot_events__pb2\n"),
    (f"from {PROTOC} import events_pb2 as _events_pb2\n",  # the .pyi stubs
     "from vigil_protos.v1 import events_pb2 as _events_pb2\n"),
    ("_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'vigil.v1.ingest_pb2', _globals)",
     "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'vigil_protos.v1.ingest_pb2', _globals)"),
    # names on the wire and the descriptor's file names stay
    ("server.add_registered_method_handlers('vigil.v1.IngestService', handlers)",
     "server.add_registered_method_handlers('vigil.v1.IngestService', handlers)"),
    ("'/vigil.v1.IngestService/Emit',", "'/vigil.v1.IngestService/Emit',"),
    ("# source: vigil/v1/ingest.proto\n", "# source: vigil/v1/ingest.proto\n"),
    ("from google.protobuf import descriptor as _descriptor\n",
     "from google.protobuf import descriptor as _descriptor\n"),
])
def test_relocate(generator: ModuleType, generated: str, relocated: str) -> None:
    assert generator.relocate(generated) == relocated


def test_stale_names_changed_missing_and_left_over_files(generator: ModuleType) -> None:
    wanted = {"a_pb2.py": "new", "b_pb2.py": "same", "c_pb2.py": "added"}
    present = {"a_pb2.py": "old", "b_pb2.py": "same", "d_pb2.py": "removed proto"}
    assert generator.stale(wanted, present) == ["a_pb2.py", "c_pb2.py", "d_pb2.py"]
    assert generator.stale(wanted, dict(wanted)) == []


def test_the_generated_code_is_importable_as_vigil_protos() -> None:
    from vigil_protos.v1 import events_pb2, ingest_pb2, ingest_pb2_grpc

    assert ingest_pb2.EmitBatchRequest.__module__ == "vigil_protos.v1.ingest_pb2"
    assert events_pb2.TraceEvent.DESCRIPTOR.full_name == "vigil.v1.TraceEvent"
    assert ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name \
        == "vigil.v1.IngestService"
    assert ingest_pb2_grpc.IngestServiceStub.__module__ == "vigil_protos.v1.ingest_pb2_grpc"
