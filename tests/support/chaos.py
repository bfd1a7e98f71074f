"""The reliability suite's record: one line per fault (what was sent, accepted, stored,
distinct, dead-lettered), printed where it happens (`pytest -s`), repeated in the
terminal summary, and kept in test-artifacts/chaos.json for the closing note."""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "chaos.json"
RECORDED: list[FaultRecord] = []
chaos = pytest.mark.chaos


@dataclass(frozen=True, slots=True)
class FaultRecord:
    fault: str
    sent: int
    accepted: int
    stored: int | None  # None: the fault is not about storage (an answer code, a delivery)
    distinct: int | None
    dead_lettered: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        more = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (f"CHAOS fault={self.fault!r} sent={self.sent} accepted={self.accepted} "
                f"stored={_n(self.stored)} distinct={_n(self.distinct)} "
                f"dead_lettered={self.dead_lettered}{more}")


def record_fault(fault: str, *, sent: int, accepted: int, stored: int | None,
                 distinct: int | None, dead_lettered: int = 0, **extra: Any) -> FaultRecord:
    """Print the fault's summary line and keep it (the latest run of a fault wins)."""
    record = FaultRecord(fault, sent, accepted, stored, distinct, dead_lettered, extra)
    print(f"\n{record.line()}", flush=True)
    RECORDED.append(record)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACT.with_suffix(".lock"), "w") as lock:  # test workers write it in turn
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            kept = {r["fault"]: r for r in json.loads(ARTIFACT.read_text())}
        except (OSError, ValueError):
            kept = {}
        kept[fault] = asdict(record)
        ARTIFACT.write_text(json.dumps(list(kept.values()), indent=2, default=str) + "\n")
    return record


def _n(value: int | None) -> str:
    return "n/a" if value is None else str(value)
