"""What an app is served for a prompt's label, read in one store query.

The delivery route (and through it ingest's PromptService) runs for every app instance
that starts or refreshes, so it reads the label's pointer and the label's last rollout
row in one query, and takes the versions' content from a per-process cache: a version
never changes once pushed (vigil.core.prompts), so a cached one is never stale.

Answers are kept `max_age_s` (1 s) too, since a fleet of apps starting at once asks for
the same label: a write through this process's registry drops them at once (so a move
is seen by the next read here), and a write through another `vigil api` replica is seen
here within `max_age_s`. A read that raced a write does not keep its answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from vigil.api.prompt_registry import PromptRegistry
from vigil.api.rollout_rows import rollout_row
from vigil.core.prompt_history import resolve
from vigil.core.prompts import LATEST, PromptVersion
from vigil.core.rollouts import RolloutRow
from vigil.store.client import Store

_ROLLOUT_COLUMNS = ("project_id", "name", "label", "seq", "rollout_id", "action", "at",
                    "control_version", "candidate_version", "percent", "split_by", "segment",
                    "guards", "auto_promote", "changed_by")
_POINTERS = (
    "SELECT (SELECT argMax(to_version, seq) FROM prompt_label_moves "
    "WHERE project_id = {p:String} AND name = {n:String} AND label = {l:String}) AS pointed, "
    "(SELECT max(version) FROM prompt_versions WHERE project_id = {p:String} "
    "AND name = {n:String}) AS latest, "
    "(SELECT tuple(" + ", ".join(_ROLLOUT_COLUMNS) + ") FROM prompt_rollouts "
    "WHERE project_id = {p:String} AND name = {n:String} AND label = {l:String} "
    "ORDER BY seq DESC LIMIT 1) AS rollout")


Served = tuple[PromptVersion, RolloutRow | None, PromptVersion | None]


class PromptDelivery:
    def __init__(self, store: Store, registry: PromptRegistry, max_age_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._registry = registry
        self._versions: dict[tuple[str, str, int], PromptVersion] = {}
        self._answers: dict[tuple[str, str, str], tuple[float, Served]] = {}
        self._generation: dict[tuple[str, str], int] = {}
        self._max_age = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        registry.on_change.append(self._changed)

    def serve(self, project_id: str, name: str, label: str) -> Served:
        """The label's version, its running rollout (or None) and the candidate."""
        key = (project_id, name, label)
        kept = self._answers.get(key)
        if kept is not None and self._clock() - kept[0] < self._max_age:
            return kept[1]
        generation = self._generation.get((project_id, name), 0)
        started = self._clock()
        served = self._read(project_id, name, label)
        with self._lock:
            if self._generation.get((project_id, name), 0) == generation:
                self._answers[key] = (started, served)
        return served

    def _changed(self, project_id: str, name: str) -> None:
        with self._lock:
            self._generation[(project_id, name)] = \
                self._generation.get((project_id, name), 0) + 1
            for key in [k for k in self._answers if k[:2] == (project_id, name)]:
                del self._answers[key]

    def _read(self, project_id: str, name: str, label: str) -> Served:
        row = self._store.rows(_POINTERS, {"p": project_id, "n": name, "l": label})[0]
        if not row["latest"]:
            resolve([], [], name)  # NotFound, saying how to push one
        version = row["latest"] if label == LATEST else row["pointed"]
        if not version:  # no such label: the registry's answer names the labels there are
            version = resolve(self._registry.versions(project_id, name),
                              self._registry.moves(project_id, name), name,
                              label=label).version
        rollout = _rollout(row["rollout"])
        if rollout is not None and rollout.action == "stop":
            rollout = None
        wanted = [version] + ([rollout.candidate_version] if rollout else [])
        found = self._content(project_id, name, wanted)
        return (found[version], rollout,
                found[rollout.candidate_version] if rollout else None)

    def _content(self, project_id: str, name: str, versions: list[int]
                 ) -> dict[int, PromptVersion]:
        missing = [v for v in versions if (project_id, name, v) not in self._versions]
        if missing:
            for v in self._registry.versions(project_id, name):
                with self._lock:
                    self._versions[(project_id, name, v.version)] = v
        return {v: self._versions[(project_id, name, v)] for v in versions}


def _rollout(value: Any) -> RolloutRow | None:
    if not value or not value[0]:
        return None
    return rollout_row(dict(zip(_ROLLOUT_COLUMNS, value, strict=True)))
