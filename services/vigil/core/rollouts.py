"""Rollouts of prompt versions: who gets the candidate, and the rules over a rollout's rows.

A rollout moves `percent` of a label's traffic from the version the label points at (the
control) to a candidate version. The unit of the split is a user or a session (`by`);
with a segment (`plan=pro`, `region=eu`, ...) only units whose attributes match enter
the split, everyone else stays on the control.

**Assignment** (`assign`) is a pure function, the same in the SDK (vigil_sdk.variants,
kept identical and checked against shared vectors in tests/unit/core/test_rollouts.py):
the first 8 bytes of SHA-256 over `rollout_id + "\\n" + unit id`, as a big-endian
integer modulo 10,000, is the unit's bucket; a bucket below `percent * 100` gets the
candidate. So a unit keeps its variant for the rollout's life, raising the percentage
only adds units (a unit in the candidate stays there), a new rollout (a new id) draws
afresh, and the share is exact up to sampling noise (1 bucket = 0.01 %).

**Rows.** Every start, change and stop of a rollout is one `RolloutRow`
(prompt_rollouts, migration 0011). The rollout of a label is its last row: none, or
one whose action is `stop`, means no rollout runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vigil.core.prompt_history import Conflict, NotFound
from vigil.core.prompts import PromptError

BUCKETS = 10_000
SPLITS = ("user", "session")
GUARDS = ("quality", "errors", "latency", "cost")
SplitBy = Literal["user", "session"]
Action = Literal["start", "change", "stop"]
Variant = Literal["", "control", "candidate"]  # "": not in a rollout's split
Segment = Mapping[str, tuple[str, ...]]  # attribute -> accepted values


def bucket(rollout_id: str, unit_id: str) -> int:
    """The unit's bucket in 0..9999 for this rollout."""
    digest = hashlib.sha256(f"{rollout_id}\n{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(rollout_id: str, unit_id: str, percent: float) -> bool:
    """True when the unit gets the candidate at `percent` (0..100)."""
    return bucket(rollout_id, unit_id) < round(percent * 100)


def matches(segment: Segment, attributes: Mapping[str, Any]) -> bool:
    """True when every key of the segment has one of its values in `attributes` (an
    empty segment matches everyone). Values compare as strings."""
    for key, values in segment.items():
        value = attributes.get(key)
        if value is None or str(value) not in values:
            return False
    return True


def parse_segment(pairs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """`KEY=VALUE` pairs as a segment; the same key repeated accepts any of its values.
    PromptError naming a bad pair."""
    segment: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value or len(key) > 128 or len(value) > 256:
            raise PromptError(f"segment {pair!r:.80} is not KEY=VALUE (e.g. plan=pro)")
        segment.setdefault(key, [])
        if value not in segment[key]:
            segment[key].append(value)
    return {k: tuple(v) for k, v in sorted(segment.items())}


def check_guards(guards: Sequence[str]) -> tuple[str, ...]:
    unknown = [g for g in guards if g not in GUARDS]
    if unknown:
        raise PromptError(f"unknown guard{'s' * (len(unknown) > 1)} {', '.join(unknown)}: "
                          f"the guards are {', '.join(GUARDS)}")
    return tuple(g for g in GUARDS if g in guards)


@dataclass(frozen=True, slots=True)
class RolloutRow:
    project_id: str
    name: str
    label: str
    seq: int               # 1, 2, 3, ... per (project, name, label): the order of the rows
    rollout_id: str        # NAME:LABEL#SEQ of the rollout's start row; kept by its changes
    action: Action
    control_version: int   # the label's version when the rollout started
    candidate_version: int
    percent: float         # 0..100
    split_by: SplitBy
    segment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guards: tuple[str, ...] = ()
    auto_promote: bool = False
    by: str = ""
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rollout_id": self.rollout_id, "seq": self.seq, "action": self.action,
                "label": self.label, "control_version": self.control_version,
                "candidate_version": self.candidate_version, "percent": self.percent,
                "by": self.split_by, "segment": {k: list(v) for k, v in self.segment.items()},
                "guards": list(self.guards), "auto_promote": self.auto_promote,
                "changed_by": self.by, "at": self.at}


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    """What a `rollout` request asks for."""

    candidate_version: int
    percent: float
    split_by: SplitBy = "user"
    segment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guards: tuple[str, ...] = ()
    auto_promote: bool = False


def active(rows: Sequence[RolloutRow], label: str) -> RolloutRow | None:
    """The running rollout of `label`: its last row, unless that row stopped it."""
    mine = [r for r in rows if r.label == label]
    if not mine:
        return None
    last = max(mine, key=lambda r: r.seq)
    return None if last.action == "stop" else last


def plan_rollout(rows: Sequence[RolloutRow], project_id: str, name: str, label: str,
                 label_version: int | None, plan: RolloutPlan, by: str, at: str
                 ) -> RolloutRow:
    """The row that starts a rollout of `label`, or changes the running one (same
    candidate: new percent, segment, guards). Conflict when the label is missing, the
    candidate is the control, or another candidate is already rolling out."""
    if label_version is None:
        raise NotFound(f"prompt {name!r} has no label {label!r}: point it at the control "
                       f"version first (`vigil prompts label {name} VERSION {label}`)")
    running = active(rows, label)
    seq = max((r.seq for r in rows if r.label == label), default=0) + 1
    if running is not None and running.candidate_version != plan.candidate_version:
        raise Conflict(f"label {label!r} of {name!r} is rolling out version "
                       f"{running.candidate_version}: stop it first "
                       f"(`vigil prompts rollout-stop {name} {label}`)")
    control = running.control_version if running is not None else label_version
    if plan.candidate_version == control:
        raise Conflict(f"label {label!r} of {name!r} points at version {control} already: "
                       "roll out another version")
    if running is not None:
        return RolloutRow(project_id, name, label, seq, running.rollout_id, "change", control,
                          plan.candidate_version, plan.percent, plan.split_by, plan.segment,
                          plan.guards, plan.auto_promote, by, at)
    return RolloutRow(project_id, name, label, seq, f"{name}:{label}#{seq}", "start", control,
                      plan.candidate_version, plan.percent, plan.split_by, plan.segment,
                      plan.guards, plan.auto_promote, by, at)


def plan_stop(rows: Sequence[RolloutRow], name: str, label: str, by: str, at: str
              ) -> RolloutRow:
    """The row that stops the running rollout of `label` (everyone back on the control)."""
    running = active(rows, label)
    if running is None:
        raise NotFound(f"no rollout of {name!r} runs on label {label!r}")
    seq = max(r.seq for r in rows if r.label == label) + 1
    return RolloutRow(running.project_id, name, label, seq, running.rollout_id, "stop",
                      running.control_version, running.candidate_version, 0.0,
                      running.split_by, running.segment, running.guards,
                      running.auto_promote, by, at)


def variant_for(row: RolloutRow | None, user_id: str, session_id: str,
                attributes: Mapping[str, Any]) -> Variant:
    """Which side of `row` a caller is on: "" outside the split (no rollout, no unit id,
    or not in the segment), else control or candidate."""
    if row is None or row.action == "stop":
        return ""
    unit = user_id if row.split_by == "user" else session_id
    if not unit or not matches(row.segment, attributes):
        return ""
    return "candidate" if assign(row.rollout_id, unit, row.percent) else "control"
