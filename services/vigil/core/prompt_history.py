"""Pure rules of the prompt registry over a prompt's stored history.

Nothing here reads or writes the store: the registry (vigil.api.prompt_registry) loads
a prompt's versions and label moves, asks these functions what to do, and writes the
answer. So the rules are tested on plain lists:

- a push gets the next version number (the highest + 1) unless its content is identical
  to the newest version's (same content hash), which creates no version;
- a label points where its last move took it (moves are ordered by their `seq`);
- a rollback takes the label back to the version it pointed at before its last move (a
  second rollback therefore undoes the first); a label that was only ever set once has
  nothing to go back to;
- a diff of two versions lists the changed model and parameters and a unified diff of
  the messages (or the template).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vigil.core.prompts import LATEST, LabelMove, MoveReason, PromptError, PromptVersion


class NotFound(PromptError):
    """No such prompt, version or label."""


class Conflict(PromptError):
    """The request contradicts the history (a rollback with nothing to go back to)."""


@dataclass(frozen=True, slots=True)
class PushPlan:
    version: int
    created: bool  # False: identical to the newest version, nothing is written


def plan_push(versions: Sequence[PromptVersion], content_hash: str) -> PushPlan:
    """The version a push becomes: the newest one if the content is identical, else the
    next number."""
    if not versions:
        return PushPlan(1, True)
    newest = max(versions, key=lambda v: v.version)
    if newest.content_hash == content_hash:
        return PushPlan(newest.version, False)
    return PushPlan(newest.version + 1, True)


def current_labels(moves: Sequence[LabelMove]) -> dict[str, int]:
    """Each label's version: where its last move (highest seq) took it."""
    labels: dict[str, int] = {}
    for move in sorted(moves, key=lambda m: m.seq):
        labels[move.label] = move.to_version
    return dict(sorted(labels.items()))


def resolve(versions: Sequence[PromptVersion], moves: Sequence[LabelMove], name: str, *,
            version: int | None = None, label: str | None = None) -> PromptVersion:
    """The version asked for by number, by label (`latest`: the newest), or the newest."""
    if not versions:
        raise NotFound(f"no prompt {name!r} in this project: push one with "
                       f"`vigil prompts push {name} --file FILE`")
    by_number = {v.version: v for v in versions}
    if version is not None and label is not None:
        raise PromptError("ask for a version or a label, not both")
    if label is not None and label != LATEST:
        pointed = current_labels(moves).get(label)
        if pointed is None:
            raise NotFound(f"prompt {name!r} has no label {label!r}"
                           f"{_known_labels(moves)}")
        version = pointed
    if version is None:
        return by_number[max(by_number)]
    if version not in by_number:
        raise NotFound(f"prompt {name!r} has no version {version} "
                       f"(versions 1 to {max(by_number)})")
    return by_number[version]


def plan_move(versions: Sequence[PromptVersion], moves: Sequence[LabelMove], name: str,
              label: str, to_version: int, by: str, at: str,
              reason: MoveReason = "label") -> LabelMove:
    """The move that points `label` at `to_version`; Conflict if it already does."""
    resolve(versions, moves, name, version=to_version)  # NotFound for an unknown version
    current = current_labels(moves).get(label, 0)
    if current == to_version:
        raise Conflict(f"label {label!r} of {name!r} already points at version {to_version}")
    seq = max((m.seq for m in moves), default=0) + 1
    project = versions[0].project_id
    return LabelMove(project, name, seq, label, current, to_version, by, at, reason)


def rollback_target(moves: Sequence[LabelMove], name: str, label: str) -> int:
    """The version `label` pointed at before its last move."""
    mine = [m for m in moves if m.label == label]
    if not mine:
        raise NotFound(f"prompt {name!r} has no label {label!r}{_known_labels(moves)}")
    last = max(mine, key=lambda m: m.seq)
    if last.from_version == 0:
        raise Conflict(f"label {label!r} of {name!r} has pointed at version "
                       f"{last.to_version} since it was set: there is nothing to roll back to "
                       f"(move it with `vigil prompts label {name} VERSION {label}`)")
    return last.from_version


def label_history(moves: Sequence[LabelMove], label: str | None = None) -> list[LabelMove]:
    """The moves (of one label, or all), newest first."""
    return sorted((m for m in moves if label is None or m.label == label),
                  key=lambda m: -m.seq)


def diff(a: PromptVersion, b: PromptVersion) -> dict[str, Any]:
    """What changed from `a` to `b`: model and parameter changes (field, from, to) and a
    unified diff of the messages or template; `identical` when nothing did."""
    changes: list[dict[str, Any]] = []
    if a.content.kind != b.content.kind:
        changes.append({"field": "kind", "from": a.content.kind, "to": b.content.kind})
    if a.content.model != b.content.model:
        changes.append({"field": "model", "from": a.content.model, "to": b.content.model})
    pa, pb = dict(a.content.params), dict(b.content.params)
    for key in sorted(set(pa) | set(pb)):
        if pa.get(key) != pb.get(key) or (key in pa) != (key in pb):
            changes.append({"field": f"params.{key}", "from": pa.get(key), "to": pb.get(key)})
    unified = list(difflib.unified_diff(
        _body_lines(a), _body_lines(b), fromfile=f"{a.name}@{a.version}",
        tofile=f"{b.name}@{b.version}", lineterm=""))
    return {"name": a.name, "from_version": a.version, "to_version": b.version,
            "identical": a.content_hash == b.content_hash, "changes": changes,
            "unified": unified}


def render_diff(result: dict[str, Any]) -> str:
    """The diff as text for a terminal."""
    if result["identical"]:
        return (f"{result['name']}: versions {result['from_version']} and "
                f"{result['to_version']} have identical content")
    lines = [f"{c['field']}: {_show(c['from'])} -> {_show(c['to'])}" for c in result["changes"]]
    if result["unified"]:
        lines += ["", *result["unified"]]
    return "\n".join(lines)


def _body_lines(v: PromptVersion) -> list[str]:
    if v.content.template is not None:
        return v.content.template.splitlines()
    lines: list[str] = []
    for n, m in enumerate(v.content.messages, start=1):
        lines.append(f"[{n}] {m.role}:")
        lines += [f"    {line}" for line in m.content.splitlines() or [""]]
    return lines


def _show(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, ensure_ascii=False)


def _known_labels(moves: Sequence[LabelMove]) -> str:
    labels = current_labels(moves)
    if not labels:
        return " (it has no labels yet)"
    return f" (its labels: {', '.join(labels)})"
