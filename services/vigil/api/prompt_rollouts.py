"""Rollouts and delivery in the read API.

- `GET /v1/prompts/{name}/rollouts/{label}`: the running rollout of a label (or null),
  the label's version and every start, change and stop, newest first (any key).
- `POST /v1/prompts/{name}/rollouts/{label}`: start a rollout to a candidate version, or
  change the running one (percent, split, segment, guards); scope write.
- `POST /v1/prompts/{name}/rollouts/{label}/stop`: everyone back on the label's version;
  scope write.
- `GET /v1/prompts/{name}/delivery?label=L`: what an app needs to serve the label in one
  answer: the label's version with its content and, while a rollout runs, the rollout
  with the candidate's content. The gRPC PromptService (served by ingest) answers from it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from vigil.api.deps import Project, Writer
from vigil.api.prompt_delivery import PromptDelivery
from vigil.api.prompt_registry import PromptRegistry
from vigil.api.prompts import Label, Name, registry_answers
from vigil.core.prompt_history import current_labels, resolve
from vigil.core.prompts import NAME_PATTERN, check_label
from vigil.core.rollouts import RolloutPlan, active, check_guards
from vigil.store.client import Store


class RolloutRequest(BaseModel):
    to_version: int = Field(ge=1, le=2**31 - 1, description="The candidate version.")
    percent: float = Field(ge=0, le=100, description="Share of the traffic (0-100) that "
                           "gets the candidate.")
    by: str = Field("user", pattern="^(user|session)$",
                    description="The unit of the split: user or session.")
    segment: dict[str, list[str]] = Field(default_factory=dict, max_length=32, description=(
        "Only units whose attributes match enter the split: attribute -> accepted values."))
    guards: list[str] = Field(default_factory=list, max_length=4, description=(
        "Guards to watch: quality, errors, latency, cost."))
    auto_promote: bool = Field(False, description="Move the label to the candidate when "
                               "the guards find no regression.")


def rollouts_router(registry: PromptRegistry, store: Store) -> APIRouter:
    router = APIRouter(prefix="/v1/prompts")
    delivery_reads = PromptDelivery(store, registry)

    @router.get("/{name}/rollouts/{label}")
    def rollout_status(name: Name, label: Label, project_id: Project) -> dict[str, Any]:
        """The running rollout of LABEL (null when none runs), the label's version and the
        rollout history of the label, newest first."""
        with registry_answers():
            versions = registry.versions(project_id, name)
            resolve(versions, [], name)
            rows = registry.rollouts(project_id, name, label)
            pointed = current_labels(registry.moves(project_id, name)).get(label)
        running = active(rows, label)
        return {"name": name, "label": label, "label_version": pointed,
                "rollout": running.to_json() if running else None,
                "history": [r.to_json() for r in sorted(rows, key=lambda r: -r.seq)]}

    @router.post("/{name}/rollouts/{label}")
    def start(name: Name, label: Label, who: Writer,
              body: Annotated[RolloutRequest, Body()]) -> dict[str, Any]:
        """Start a rollout of LABEL to a candidate version, or change the running one."""
        with registry_answers():
            check_label(label)
            segment = {k: tuple(dict.fromkeys(v)) for k, v in sorted(body.segment.items())
                       if v}
            plan = RolloutPlan(body.to_version, body.percent, body.by,  # type: ignore[arg-type]
                               segment, check_guards(body.guards), body.auto_promote)
            row = registry.start_rollout(who.project, name, label, plan, who.label)
        return {"name": name, **row.to_json()}

    @router.post("/{name}/rollouts/{label}/stop")
    def stop(name: Name, label: Label, who: Writer) -> dict[str, Any]:
        """Stop the running rollout of LABEL: everyone gets the label's version again."""
        with registry_answers():
            row = registry.stop_rollout(who.project, name, label, who.label)
        return {"name": name, **row.to_json()}

    @router.get("/{name}/delivery")
    def delivery(name: Name, project_id: Project,
                 label: Annotated[str, Query(pattern=NAME_PATTERN)] = "production"
                 ) -> dict[str, Any]:
        """The label's version with its content and the running rollout with its
        candidate's content (null when none runs): what the SDK caches."""
        with registry_answers():
            found, running, candidate = delivery_reads.serve(project_id, name, label)
        rollout = None
        if running is not None and candidate is not None:
            rollout = {**running.to_json(), "candidate": candidate.to_json()}
        return {"name": name, "label": label, "prompt": found.to_json(), "rollout": rollout}

    return router
