"""The prompt registry in the read API: list, show, history and diff (GET, any key of the
project), push, label and rollback (POST, a key with scope write).

A prompt is named in the path; a version is shown by number (`?version=3`), by label
(`?label=production`, `latest` for the newest) or, without either, the newest. Bad input
is a 4xx whose `detail` says what to fix: 422 for a bad prompt, 404 for an unknown prompt,
version or label, 409 when the history forbids the change (a rollback with nothing to go
back to, a label already there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from vigil.api.deps import Project, Writer
from vigil.api.prompt_registry import PromptRegistry
from vigil.core.prompt_history import (
    Conflict,
    NotFound,
    current_labels,
    diff,
    label_history,
    resolve,
)
from vigil.core.prompts import NAME_PATTERN, PromptError, check_label, parse_content

Name = Annotated[str, Path(pattern=NAME_PATTERN, description="The prompt's name.")]
Label = Annotated[str, Path(pattern=NAME_PATTERN, description="A label, e.g. production.")]
VersionNumber = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


class MessageIn(BaseModel):
    role: str = Field(max_length=32, description="system, developer, user, assistant or tool")
    content: str = Field(description="The text, with {{variable}} placeholders.")


class PushRequest(BaseModel):
    messages: list[MessageIn] | None = Field(None, description="Chat messages (or template).")
    template: str | None = Field(None, description="A text template (or messages).")
    model: str = Field("", max_length=256)
    params: dict[str, Any] = Field(default_factory=dict, description=(
        "Model parameters: temperature, max_tokens, response_format, tools, ..."))
    message: str = Field("", max_length=2000, description="The commit message.")


class LabelRequest(BaseModel):
    version: int = Field(ge=1, le=2**31 - 1, description="The version the label points at.")


def prompts_router(registry: PromptRegistry) -> APIRouter:
    router = APIRouter(prefix="/v1/prompts")

    @router.get("")
    def prompts(project_id: Project) -> dict[str, Any]:
        """Every prompt of the project: its newest version, version count and labels."""
        return {"prompts": registry.names(project_id)}

    @router.get("/{name}")
    def show(name: Name, project_id: Project, version: VersionNumber = None,
             label: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None
             ) -> dict[str, Any]:
        """One version: by number, by label (`latest`: the newest) or the newest."""
        with registry_answers():
            versions = registry.versions(project_id, name)
            moves = registry.moves(project_id, name)
            found = resolve(versions, moves, name, version=version, label=label)
        labels = current_labels(moves)
        return {**found.to_json(), "labels": [k for k, v in labels.items()
                                              if v == found.version],
                "latest_version": max(v.version for v in versions)}

    @router.get("/{name}/history")
    def history(name: Name, project_id: Project) -> dict[str, Any]:
        """Every version (newest first, without content), the labels now, and every label
        move (newest first: who moved which label from where to where, and when)."""
        with registry_answers():
            versions = registry.versions(project_id, name)
            moves = registry.moves(project_id, name)
            resolve(versions, moves, name)
        return {"name": name, "labels": current_labels(moves),
                "versions": [{k: v.to_json()[k] for k in (
                    "version", "commit_message", "pushed_by", "pushed_at", "content_hash",
                    "model")} for v in sorted(versions, key=lambda v: -v.version)],
                "moves": [m.to_json() for m in label_history(moves)]}

    @router.get("/{name}/diff")
    def versions_diff(name: Name, project_id: Project,
                      from_version: VersionNumber = None,
                      to_version: VersionNumber = None) -> dict[str, Any]:
        """What changed between two versions (default: the newest against the one before):
        model and parameters (field, from, to) and a unified diff of messages or template."""
        with registry_answers():
            versions = registry.versions(project_id, name)
            moves = registry.moves(project_id, name)
            b = resolve(versions, moves, name, version=to_version)
            a = resolve(versions, moves, name,
                        version=from_version if from_version is not None
                        else max(b.version - 1, 1))
        return diff(a, b)

    @router.post("/{name}/versions", status_code=201)
    def push(name: Name, who: Writer, response: Response,
             body: Annotated[PushRequest, Body()]) -> dict[str, Any]:
        """Push content as the next version (201); identical to the newest version: no
        new version (200, `created` false)."""
        with registry_answers():
            content = parse_content(body.model_dump(exclude={"message"}, exclude_none=True))
            version, created = registry.push(who.project, name, content, body.message,
                                             who.label)
        if not created:
            response.status_code = 200
        return {**version.to_json(), "created": created}

    @router.post("/{name}/labels/{label}")
    def move(name: Name, label: Label, who: Writer,
             body: Annotated[LabelRequest, Body()]) -> dict[str, Any]:
        """Point a label at a version; the move is recorded (who, when, from, to)."""
        with registry_answers():
            check_label(label)
            done = registry.move_label(who.project, name, label, body.version, who.label)
        return {"name": name, **done.to_json()}

    @router.post("/{name}/labels/{label}/rollback")
    def rollback(name: Name, label: Label, who: Writer) -> dict[str, Any]:
        """Point a label back at the version it pointed at before its last move."""
        with registry_answers():
            check_label(label)
            done = registry.rollback(who.project, name, label, who.label)
        return {"name": name, **done.to_json()}

    return router


@contextmanager
def registry_answers() -> Iterator[None]:
    """The registry's refusals as HTTP answers with the reason."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    except PromptError as exc:
        raise HTTPException(422, str(exc)) from exc
