"""Rollout rows to and from the `prompt_rollouts` table (migration 0011)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from vigil.core.rollouts import RolloutRow
from vigil.store.tables import PROMPT_ROLLOUTS, Line, table_line


def rollout_line(r: RolloutRow) -> Line:
    record = {"project_id": r.project_id, "name": r.name, "label": r.label, "seq": r.seq,
              "row_id": f"{r.name}:{r.label}#{r.seq}", "rollout_id": r.rollout_id,
              "action": r.action, "at": r.at, "control_version": r.control_version,
              "candidate_version": r.candidate_version, "percent": float(r.percent),
              "split_by": r.split_by,
              "segment": orjson.dumps({k: list(v) for k, v in r.segment.items()}).decode(),
              "guards": list(r.guards), "auto_promote": r.auto_promote, "changed_by": r.by}
    return table_line(PROMPT_ROLLOUTS, orjson.dumps(record), record)


def rollout_row(r: dict[str, Any]) -> RolloutRow:
    segment = {k: tuple(v) for k, v in orjson.loads(r["segment"] or "{}").items()}
    return RolloutRow(r["project_id"], r["name"], r["label"], r["seq"], r["rollout_id"],
                      r["action"], r["control_version"], r["candidate_version"],
                      float(r["percent"]), r["split_by"], segment, tuple(r["guards"]),
                      bool(r["auto_promote"]), r["changed_by"], _stamp(r["at"]))


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)
