"""The prompt registry on the store: load a prompt's history, apply the pure rules of
vigil.core.prompt_history, write the outcome through the store owner's writer.

**Why concurrent pushes get distinct, consecutive versions.** Every change of a prompt
(a push, a label move, a rollback) reads the prompt's history, decides, and inserts,
all under one lock per (project, name) held by this process. The process that serves
the write routes is the store owner (the sink that opened the embedded store, whose
own `LocalStoreWriter` is handed in, so its lock is shared too) or a `vigil api`
against a ClickHouse server. Of two pushes of the same name at once the second reads
only after the first inserted, so it sees version N and takes N + 1; a label move
likewise always records the version it moved from. The lock is per process: with
several `vigil api` replicas against one ClickHouse server, send the registry's writes
to one of them (reads may go to any).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from vigil.api.rollout_rows import rollout_line, rollout_row
from vigil.core.prompt_history import (
    PushPlan,
    current_labels,
    plan_move,
    plan_push,
    resolve,
    rollback_target,
)
from vigil.core.prompts import (
    ChatMessage,
    LabelMove,
    MoveReason,
    PromptContent,
    PromptVersion,
)
from vigil.core.rollouts import RolloutPlan, RolloutRow, plan_rollout, plan_stop
from vigil.runtime.logs import get_logger
from vigil.store.client import Store
from vigil.store.tables import (
    PROMPT_LABEL_MOVES,
    PROMPT_ROLLOUTS,
    PROMPT_VERSIONS,
    table_line,
)
from vigil.store.writer import StoreWriter

log = get_logger(__name__)


class PromptRegistry:
    def __init__(self, store: Store, writer: StoreWriter) -> None:
        self._store = store
        self._writer = writer
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.on_change: list[Callable[[str, str], None]] = []  # (project, name) written

    # --- reads ---------------------------------------------------------------------

    def names(self, project_id: str) -> list[dict[str, Any]]:
        """Every prompt of the project with its newest version and its labels."""
        rows = self._store.rows(
            "SELECT name, max(version) AS latest_version, count() AS versions, "
            "toString(max(pushed_at)) AS updated_at FROM prompt_versions "
            "WHERE project_id = {p:String} GROUP BY name ORDER BY name", {"p": project_id})
        moves = self._store.rows(
            "SELECT name, label, argMax(to_version, seq) AS version FROM prompt_label_moves "
            "WHERE project_id = {p:String} GROUP BY name, label ORDER BY name, label",
            {"p": project_id})
        labels: dict[str, dict[str, int]] = {}
        for m in moves:
            labels.setdefault(m["name"], {})[m["label"]] = m["version"]
        return [{**r, "labels": labels.get(r["name"], {})} for r in rows]

    def versions(self, project_id: str, name: str) -> list[PromptVersion]:
        rows = self._store.rows(
            "SELECT * EXCEPT (stored_at) FROM prompt_versions WHERE project_id = {p:String} "
            "AND name = {n:String} ORDER BY version LIMIT 1 BY version",
            {"p": project_id, "n": name})
        return [_version(r) for r in rows]

    def moves(self, project_id: str, name: str) -> list[LabelMove]:
        rows = self._store.rows(
            "SELECT * EXCEPT (stored_at) FROM prompt_label_moves WHERE project_id = {p:String} "
            "AND name = {n:String} ORDER BY seq LIMIT 1 BY seq", {"p": project_id, "n": name})
        return [_move(r) for r in rows]

    def rollouts(self, project_id: str, name: str, label: str | None = None
                 ) -> list[RolloutRow]:
        """The rollout rows of a prompt (of one label), oldest first."""
        only_label = "AND label = {l:String} " if label is not None else ""
        rows = self._store.rows(
            "SELECT * EXCEPT (stored_at) FROM prompt_rollouts WHERE project_id = {p:String} "
            f"AND name = {{n:String}} {only_label}ORDER BY label, seq LIMIT 1 BY label, seq",
            {"p": project_id, "n": name, "l": label or ""})
        return [rollout_row(r) for r in rows]

    # --- writes (serialized per project and name) -------------------------------------

    def start_rollout(self, project_id: str, name: str, label: str, plan: RolloutPlan,
                      by: str, now: datetime | None = None) -> RolloutRow:
        """Start a rollout of `label` to the plan's candidate, or change the running one."""
        with self._serialized(project_id, name):
            versions = self.versions(project_id, name)
            resolve(versions, [], name, version=plan.candidate_version)  # NotFound if absent
            pointed = current_labels(self.moves(project_id, name)).get(label)
            row = plan_rollout(self.rollouts(project_id, name, label), project_id, name,
                               label, pointed, plan, by, _iso(now))
            self._writer.write(PROMPT_ROLLOUTS, [rollout_line(row)],
                               f"{project_id}:{name}:{label}#{row.seq}:{row.at}")
            self._changed(project_id, name)
        log.info("prompt rollout " + ("started" if row.action == "start" else "changed"),
                 project_id=project_id, prompt=name, label=label, rollout_id=row.rollout_id,
                 control=row.control_version, candidate=row.candidate_version,
                 percent=row.percent, split_by=row.split_by, by=by)
        return row

    def stop_rollout(self, project_id: str, name: str, label: str, by: str,
                     now: datetime | None = None) -> RolloutRow:
        """Stop the running rollout of `label`: everyone gets the label's version again."""
        with self._serialized(project_id, name):
            row = plan_stop(self.rollouts(project_id, name, label), name, label, by, _iso(now))
            self._writer.write(PROMPT_ROLLOUTS, [rollout_line(row)],
                               f"{project_id}:{name}:{label}#{row.seq}:{row.at}")
            self._changed(project_id, name)
        log.info("prompt rollout stopped", project_id=project_id, prompt=name, label=label,
                 rollout_id=row.rollout_id, by=by)
        return row

    def push(self, project_id: str, name: str, content: PromptContent, commit_message: str,
             by: str, now: datetime | None = None) -> tuple[PromptVersion, bool]:
        """Store `content` as the next version, unless it is identical to the newest.
        Returns the version and whether it was created."""
        digest = content.content_hash()
        with self._serialized(project_id, name):
            versions = self.versions(project_id, name)
            plan: PushPlan = plan_push(versions, digest)
            if not plan.created:
                return next(v for v in versions if v.version == plan.version), False
            version = PromptVersion(project_id, name, plan.version, content, commit_message,
                                    by, _iso(now), digest)
            self._write_version(version)
            self._changed(project_id, name)
        log.info("prompt version pushed", project_id=project_id, prompt=name,
                 version=version.version, by=by)
        return version, True

    def move_label(self, project_id: str, name: str, label: str, to_version: int, by: str,
                   now: datetime | None = None) -> LabelMove:
        with self._serialized(project_id, name):
            return self._move(project_id, name, label, lambda _: to_version, by, now, "label")

    def rollback(self, project_id: str, name: str, label: str, by: str,
                 now: datetime | None = None) -> LabelMove:
        """Point `label` back where it was before its last move."""
        with self._serialized(project_id, name):
            return self._move(project_id, name, label,
                              lambda moves: rollback_target(moves, name, label), by, now,
                              "rollback")

    def _move(self, project_id: str, name: str, label: str, target: Any, by: str,
              now: datetime | None, reason: MoveReason) -> LabelMove:
        versions = self.versions(project_id, name)
        moves = self.moves(project_id, name)
        if not versions:
            resolve(versions, moves, name)  # raises NotFound, saying what to do
        move = plan_move(versions, moves, name, label, target(moves), by, _iso(now), reason)
        self._write_move(move)
        self._changed(project_id, name)
        log.info("prompt label moved", project_id=project_id, prompt=name, label=label,
                 from_version=move.from_version, to_version=move.to_version, by=by,
                 reason=reason)
        return move

    def _changed(self, project_id: str, name: str) -> None:
        for listener in self.on_change:
            listener(project_id, name)

    @contextmanager
    def _serialized(self, project_id: str, name: str) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault((project_id, name), threading.Lock())
        with lock:
            yield

    def _write_version(self, v: PromptVersion) -> None:
        record = {"project_id": v.project_id, "name": v.name, "version": v.version,
                  "version_id": f"{v.name}@{v.version}", "pushed_at": v.pushed_at,
                  "kind": v.content.kind,
                  "messages": orjson.dumps([{"role": m.role, "content": m.content}
                                            for m in v.content.messages]).decode(),
                  "template": v.content.template or "", "model": v.content.model,
                  "params": orjson.dumps(dict(v.content.params)).decode(),
                  "content_hash": v.content_hash, "commit_message": v.commit_message,
                  "pushed_by": v.pushed_by}
        line = table_line(PROMPT_VERSIONS, orjson.dumps(record), record)
        self._writer.write(PROMPT_VERSIONS, [line],
                           f"{v.project_id}:{v.name}@{v.version}:{v.content_hash[:16]}")

    def _write_move(self, m: LabelMove) -> None:
        record = {"project_id": m.project_id, "name": m.name, "seq": m.seq,
                  "move_id": f"{m.name}#{m.seq}", "moved_at": m.at, "label": m.label,
                  "from_version": m.from_version, "to_version": m.to_version,
                  "moved_by": m.by, "reason": m.reason}
        line = table_line(PROMPT_LABEL_MOVES, orjson.dumps(record), record)
        self._writer.write(PROMPT_LABEL_MOVES, [line],
                           f"{m.project_id}:{m.name}#{m.seq}:{m.label}:{m.at}")


def _version(r: dict[str, Any]) -> PromptVersion:
    messages = tuple(ChatMessage(m["role"], m["content"]) for m in orjson.loads(r["messages"]))
    content = PromptContent(messages=messages,
                            template=r["template"] if r["kind"] == "text" else None,
                            model=r["model"], params=orjson.loads(r["params"]))
    return PromptVersion(r["project_id"], r["name"], r["version"], content,
                         r["commit_message"], r["pushed_by"], _stamp(r["pushed_at"]),
                         r["content_hash"])


def _move(r: dict[str, Any]) -> LabelMove:
    return LabelMove(r["project_id"], r["name"], r["seq"], r["label"], r["from_version"],
                     r["to_version"], r["moved_by"], _stamp(r["moved_at"]), r["reason"])


def _iso(now: datetime | None) -> str:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)
